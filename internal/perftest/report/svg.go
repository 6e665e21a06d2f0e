package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Series is one line of a chart.
type Series struct {
	Name   string
	Points [][2]float64 // x, y
}

// chart geometry, in SVG user units.
const (
	chartW, chartH           = 640, 280
	padL, padR, padT, padB   = 64, 16, 16, 40
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	legendLine, legendOffset = 14, 8
)

// palette is colour-blind friendly (Okabe–Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

// LineChart draws series as polylines with axes, ticks and a legend. It
// returns safe HTML: every text it embeds is escaped.
func LineChart(title, xLabel, yLabel string, series []Series) template.HTML {
	maxX, maxY := 0.0, 0.0
	for _, s := range series {
		for _, p := range s.Points {
			maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
		}
	}
	if maxX == 0 {
		maxX = 1
	}
	if maxY == 0 {
		maxY = 1
	}
	maxX, maxY = niceCeil(maxX), niceCeil(maxY)
	var b strings.Builder
	header(&b, title)
	axes(&b, maxX, maxY, xLabel, yLabel)
	for i, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		var pts strings.Builder
		for _, p := range s.Points {
			fmt.Fprintf(&pts, "%.1f,%.1f ", padL+p[0]/maxX*plotW, padT+plotH-p[1]/maxY*plotH)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, palette[i%len(palette)], strings.TrimSpace(pts.String()))
	}
	legend(&b, series)
	b.WriteString("</svg>")
	return template.HTML(b.String()) // #nosec: all text above went through esc
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
	// Limit draws a threshold mark for this bar when > 0.
	Limit float64
}

// BarChart draws horizontal bars, one per label, with optional threshold
// marks (SLO limits).
func BarChart(title, unitLabel string, bars []Bar) template.HTML {
	maxV := 0.0
	for _, br := range bars {
		maxV = math.Max(maxV, math.Max(br.Value, br.Limit))
	}
	if maxV == 0 {
		maxV = 1
	}
	maxV = niceCeil(maxV)
	const rowH, labelW = 18, 260
	h := padT + len(bars)*rowH + padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img"><title>%s</title>`, chartW+labelW-padL, h, chartW+labelW-padL, h, esc(title))
	w := float64(chartW - padR - padL)
	for i, br := range bars {
		y := padT + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`, labelW-6, y+13, esc(br.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`, labelW, y+2, br.Value/maxV*w, rowH-4, palette[0], esc(br.Label), esc(fmtTick(br.Value)+" "+unitLabel))
		if br.Limit > 0 {
			x := float64(labelW) + br.Limit/maxV*w
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>`, x, x, y, y+rowH, palette[1])
		}
	}
	base := padT + len(bars)*rowH
	fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%d" y2="%d" stroke="#444"/>`, labelW, float64(labelW)+w, base, base)
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		x := float64(labelW) + v/maxV*w
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x, base+14, esc(fmtTick(v)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, float64(labelW)+w/2, base+30, esc(unitLabel+" (orange mark: SLO threshold)"))
	b.WriteString("</svg>")
	return template.HTML(b.String()) // #nosec: all text above went through esc
}

func header(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img"><title>%s</title>`, chartW, chartH, chartW, chartH, esc(title))
}

func axes(b *strings.Builder, maxX, maxY float64, xLabel, yLabel string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`, padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		fx := float64(i) / 4
		x := padL + fx*plotW
		y := padT + plotH - fx*plotH
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x, padT+plotH+14, esc(fmtTick(maxX*fx)))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, padL-4, y+3, esc(fmtTick(maxY*fx)))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="11" text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, esc(xLabel))
	fmt.Fprintf(b, `<text x="12" y="%d" font-size="11" text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, esc(yLabel))
}

func legend(b *strings.Builder, series []Series) {
	x := padL + 8
	for i, s := range series {
		y := padT + legendOffset + i*legendLine
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`, x, y, palette[i%len(palette)], x+14, y+5, esc(s.Name))
	}
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so axis ticks
// are round numbers.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
