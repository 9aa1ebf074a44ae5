package topology

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// ParseMetrics reads Prometheus text format into "name{labels}" -> value,
// summing duplicate series. Comment and malformed lines are skipped.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// the value follows the series, which ends at '}' or the first space
		series, rest := line, ""
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, rest = line[:i+1], strings.TrimSpace(line[i+1:])
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			series, rest = line[:i], strings.TrimSpace(line[i+1:])
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[series] += v
	}
	return out, sc.Err()
}

// MetricSum adds every series of metric name whose labels include all of
// match (e.g. {"outcome":"ok"}), across label sets.
func MetricSum(m map[string]float64, name string, match map[string]string) float64 {
	var sum float64
	for series, v := range m {
		n, labels := series, ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			n, labels = series[:i], series[i:]
		}
		if n != name {
			continue
		}
		ok := true
		for k, want := range match {
			if !strings.Contains(labels, k+"=\""+want+"\"") {
				ok = false
				break
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}
