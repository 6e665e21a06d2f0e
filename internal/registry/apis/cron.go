package apis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CronSchedule is a parsed standard cron schedule: the five fields minute,
// hour, day of month, month and day of week, the @yearly/@monthly/@weekly/
// @daily/@midnight/@hourly descriptors, @every <duration>, and an optional
// TZ= or CRON_TZ= prefix. It accepts what upstream's CronJob validation
// accepts (robfig/cron's ParseStandard) and reports the same error texts,
// without the dependency.
type CronSchedule struct {
	// Bit sets of allowed values; bit 63 (starBit) marks a field given as
	// * or ?, which matters for the day-of-month/day-of-week rule.
	minute, hour, dom, month, dow uint64
	// every is set for @every schedules, which ignore the bit sets.
	every time.Duration
	// location is the TZ= zone, nil for the caller's zone.
	location *time.Location
}

const starBit = 1 << 63

type cronBounds struct {
	min, max uint
	names    map[string]uint
}

var (
	cronMinutes = cronBounds{0, 59, nil}
	cronHours   = cronBounds{0, 23, nil}
	cronDom     = cronBounds{1, 31, nil}
	cronMonths  = cronBounds{1, 12, map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	}}
	cronDow = cronBounds{0, 6, map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	}}
)

// ParseCronSchedule parses a CronJob schedule. The error text is what
// upstream puts in the spec.schedule field error.
func ParseCronSchedule(spec string) (*CronSchedule, error) {
	if spec == "" {
		return nil, fmt.Errorf("empty spec string")
	}
	var loc *time.Location
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		i := strings.Index(spec, " ")
		eq := strings.Index(spec, "=")
		name := spec[eq+1:]
		if i >= 0 {
			name = spec[eq+1 : i]
		}
		var err error
		if loc, err = time.LoadLocation(name); err != nil {
			return nil, fmt.Errorf("provided bad location %s: %w", name, err)
		}
		if i < 0 {
			spec = ""
		} else {
			spec = strings.TrimSpace(spec[i:])
		}
	}
	if strings.HasPrefix(spec, "@") {
		s, err := parseCronDescriptor(spec)
		if err != nil {
			return nil, err
		}
		s.location = loc
		return s, nil
	}
	f := strings.Fields(spec)
	if len(f) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields, found %d: %s", len(f), f)
	}
	s := &CronSchedule{location: loc}
	var err error
	for i, b := range []struct {
		dst *uint64
		b   cronBounds
	}{{&s.minute, cronMinutes}, {&s.hour, cronHours}, {&s.dom, cronDom}, {&s.month, cronMonths}, {&s.dow, cronDow}} {
		if *b.dst, err = parseCronField(f[i], b.b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func parseCronDescriptor(d string) (*CronSchedule, error) {
	all := func(b cronBounds) uint64 { return cronBits(b.min, b.max, 1) | starBit }
	s := &CronSchedule{minute: 1 << 0, hour: 1 << 0, dom: 1 << 1, month: 1 << 1, dow: all(cronDow)}
	switch d {
	case "@yearly", "@annually":
	case "@monthly":
		s.month = all(cronMonths)
	case "@weekly":
		s.dom, s.month, s.dow = all(cronDom), all(cronMonths), 1<<0
	case "@daily", "@midnight":
		s.dom, s.month = all(cronDom), all(cronMonths)
	case "@hourly":
		s.hour, s.dom, s.month = all(cronHours), all(cronDom), all(cronMonths)
	default:
		const every = "@every "
		if !strings.HasPrefix(d, every) {
			return nil, fmt.Errorf("unrecognized descriptor: %s", d)
		}
		dur, err := time.ParseDuration(d[len(every):])
		if err != nil {
			return nil, fmt.Errorf("failed to parse duration %s: %w", d, err)
		}
		// Like robfig/cron, sub-second intervals round up to one second.
		if dur < time.Second {
			dur = time.Second
		}
		return &CronSchedule{every: dur - time.Duration(dur.Nanoseconds())%time.Second}, nil
	}
	return s, nil
}

func cronBits(min, max, step uint) uint64 {
	if step == 1 {
		return ^(^uint64(0) << (max + 1)) & (^uint64(0) << min)
	}
	var b uint64
	for i := min; i <= max; i += step {
		b |= 1 << i
	}
	return b
}

// parseCronField parses a comma-separated list of ranges.
func parseCronField(f string, b cronBounds) (uint64, error) {
	var bitsSet uint64
	for _, expr := range strings.Split(f, ",") {
		v, err := parseCronRange(expr, b)
		if err != nil {
			return 0, err
		}
		bitsSet |= v
	}
	return bitsSet, nil
}

// parseCronRange parses number | number "-" number [ "/" number ] | * | ?.
func parseCronRange(expr string, b cronBounds) (uint64, error) {
	var start, end, step uint
	rangeAndStep := strings.Split(expr, "/")
	lowAndHigh := strings.Split(rangeAndStep[0], "-")
	singleDigit := len(lowAndHigh) == 1
	var extra uint64
	var err error
	if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
		start, end, extra = b.min, b.max, starBit
	} else {
		if start, err = parseCronValue(lowAndHigh[0], b.names); err != nil {
			return 0, err
		}
		switch len(lowAndHigh) {
		case 1:
			end = start
		case 2:
			if end, err = parseCronValue(lowAndHigh[1], b.names); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("too many hyphens: %s", expr)
		}
	}
	switch len(rangeAndStep) {
	case 1:
		step = 1
	case 2:
		if step, err = parseCronUint(rangeAndStep[1]); err != nil {
			return 0, err
		}
		// "N/step" means N through the end of the range.
		if singleDigit {
			end = b.max
		}
		if step > 1 {
			extra = 0
		}
	default:
		return 0, fmt.Errorf("too many slashes: %s", expr)
	}
	switch {
	case start < b.min:
		return 0, fmt.Errorf("beginning of range (%d) below minimum (%d): %s", start, b.min, expr)
	case end > b.max:
		return 0, fmt.Errorf("end of range (%d) above maximum (%d): %s", end, b.max, expr)
	case start > end:
		return 0, fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", start, end, expr)
	case step == 0:
		return 0, fmt.Errorf("step of range should be a positive number: %s", expr)
	}
	return cronBits(start, end, step) | extra, nil
}

func parseCronValue(expr string, names map[string]uint) (uint, error) {
	if names != nil {
		if v, ok := names[strings.ToLower(expr)]; ok {
			return v, nil
		}
	}
	return parseCronUint(expr)
}

func parseCronUint(expr string) (uint, error) {
	n, err := strconv.Atoi(expr)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %w", expr, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number (%d) not allowed: %s", n, expr)
	}
	return uint(n), nil
}

// Next returns the first activation strictly after t, or the zero time if
// none exists within five years (e.g. "0 0 30 2 *").
func (s *CronSchedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every - time.Duration(t.Nanosecond())*time.Nanosecond)
	}
	origLoc := t.Location()
	if s.location != nil {
		t = t.In(s.location)
	}
	loc := t.Location()
	t = t.Add(time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	limit := t.Year() + 5
	for t.Year() <= limit {
		switch {
		case s.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<uint(t.Hour())) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
		case s.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t.In(origLoc)
		}
	}
	return time.Time{}
}

// dayMatches applies cron's rule: when both day fields are restricted, a day
// matching either one is enough.
func (s *CronSchedule) dayMatches(t time.Time) bool {
	domMatch := s.dom&(1<<uint(t.Day())) != 0
	dowMatch := s.dow&(1<<uint(t.Weekday())) != 0
	if s.dom&starBit != 0 || s.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}
