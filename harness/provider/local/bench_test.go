package local

import (
	"context"
	"sort"
	"testing"
	"time"
)

// BenchmarkTopologyReady measures Start until the LB reports every region in
// rotation, binaries prebuilt outside the timed loop. Reports the median.
func BenchmarkTopologyReady(b *testing.B) {
	ctx := context.Background()
	dir, err := BuildBinaries(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	p := Provider{BinDir: dir}
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		spec := testSpec(b)
		start := time.Now()
		c, err := p.StartCluster(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
}
