package apis

import (
	"testing"
	"time"
)

func TestParseCronScheduleErrors(t *testing.T) {
	cases := []struct {
		spec, want string
	}{
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* 24 * * *", "end of range (24) above maximum (23): 24"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"* * * 13 *", "end of range (13) above maximum (12): 13"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@every forever", `failed to parse duration @every forever: time: invalid duration "forever"`},
		{"TZ=Mars/Base * * * * *", "provided bad location Mars/Base: unknown time zone Mars/Base"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseCronSchedule(tc.spec)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCronScheduleNext(t *testing.T) {
	// Wednesday 2025-01-01 10:30:15 UTC.
	from := time.Date(2025, 1, 1, 10, 30, 15, 0, time.UTC)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	cases := []struct {
		spec string
		want time.Time
	}{
		{"* * * * *", at(2025, 1, 1, 10, 31)},
		{"*/15 * * * *", at(2025, 1, 1, 10, 45)},
		{"0 3 * * *", at(2025, 1, 2, 3, 0)},
		{"30 10 * * *", at(2025, 1, 2, 10, 30)},
		{"0 0 1 * *", at(2025, 2, 1, 0, 0)},
		{"0 9 * * mon-fri", at(2025, 1, 2, 9, 0)},
		{"0 9 * * SUN", at(2025, 1, 5, 9, 0)},
		{"0 0 1 jan *", at(2026, 1, 1, 0, 0)},
		{"5,10 11 * * *", at(2025, 1, 1, 11, 5)},
		{"0 12 15 * 5", at(2025, 1, 3, 12, 0)}, // day-of-month OR day-of-week
		{"0 0 29 2 *", at(2028, 2, 29, 0, 0)},
		{"@hourly", at(2025, 1, 1, 11, 0)},
		{"@daily", at(2025, 1, 2, 0, 0)},
		{"@weekly", at(2025, 1, 5, 0, 0)},
		{"@monthly", at(2025, 2, 1, 0, 0)},
		{"@yearly", at(2026, 1, 1, 0, 0)},
		{"@every 90s", from.Add(90 * time.Second)},
		{"0 0 30 2 *", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := ParseCronSchedule(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(from); !got.Equal(tc.want) {
				t.Fatalf("Next = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCronScheduleTimeZonePrefix(t *testing.T) {
	s, err := ParseCronSchedule("CRON_TZ=Asia/Tokyo 0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	// 09:00 in Tokyo is 00:00 UTC.
	got := s.Next(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC))
	if want := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Next = %v, want %v in UTC", got, want)
	}
}
