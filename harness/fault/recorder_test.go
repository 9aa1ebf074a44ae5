package fault

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/agentops/failover-harness/harness/topology"
)

// orderFault records when it is healed.
type orderFault struct {
	name   string
	healed *[]string
}

func (f orderFault) Name() string                     { return f.name }
func (f orderFault) Available(topology.Cluster) error { return nil }
func (f orderFault) Inject(context.Context, topology.Cluster) (func(context.Context) error, error) {
	return func(context.Context) error { *f.healed = append(*f.healed, f.name); return nil }, nil
}

// HealAll heals newest first, and only what is still injected.
func TestTrackerHealsNewestFirst(t *testing.T) {
	var healed []string
	tr := NewTracker(newFake())
	ctx := context.Background()
	var recs []func(context.Context) error
	for _, n := range []string{"first", "second", "third"} {
		rec, _, err := tr.Inject(ctx, orderFault{n, &healed})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := recs[1](ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(healed, ","); got != "second,third,first" {
		t.Fatalf("heal order %s, want second,third,first", got)
	}
}

// A composite fault heals its parts newest first.
func TestCompositeHealsNewestFirst(t *testing.T) {
	var healed []string
	f := RegionsDown{Regions: []string{"a", "b"}, Fault: func(r string) Fault { return orderFault{r, &healed} }}
	heal, err := f.Inject(context.Background(), newFake())
	if err != nil {
		t.Fatal(err)
	}
	if err := heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(healed, ","); got != "b,a" {
		t.Fatalf("heal order %s, want b,a", got)
	}
}

// linkCluster serves links from an in-process toxiproxy.
type linkCluster struct {
	topology.Cluster
	cli *toxiclient.Client
}

func (c linkCluster) Links() []string                          { return []string{"a->dynamodb"} }
func (c linkCluster) Toxiproxy() *toxiclient.Client            { return c.cli }
func (c linkCluster) Link(n string) (*toxiclient.Proxy, error) { return c.cli.Proxy(n) }

func startToxiproxy(t *testing.T) *toxiclient.Client {
	t.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Routes()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = api.Collection.Clear() })
	return toxiclient.NewClient("http://" + ln.Addr().String())
}

// Two faults on one link keep their own toxics: healing one leaves the other.
func TestTwoFaultsOnOneLinkHealIndependently(t *testing.T) {
	cli := startToxiproxy(t)
	if _, err := cli.CreateProxy("a->dynamodb", "127.0.0.1:0", "127.0.0.1:9"); err != nil {
		t.Fatal(err)
	}
	c := linkCluster{cli: cli}
	tr := NewTracker(c)
	ctx := context.Background()
	healLatency, _, err := tr.Inject(ctx, Latency{Link: "a->dynamodb", Latency: 50e6})
	if err != nil {
		t.Fatal(err)
	}
	healCut, _, err := tr.Inject(ctx, Partition{Link: "a->dynamodb", Mode: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	// a second partition of the same kind on the same link gets its own names
	healCut2, _, err := tr.Inject(ctx, Partition{Link: "a->dynamodb", Mode: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	toxics := func() []string {
		px, err := cli.Proxy("a->dynamodb")
		if err != nil {
			t.Fatal(err)
		}
		ts, err := px.Toxics()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ts {
			out = append(out, x.Type+"/"+x.Stream)
		}
		return out
	}
	if n := len(toxics()); n != 5 {
		t.Fatalf("want 5 toxics (latency + 2x two-way timeout), got %v", toxics())
	}
	if err := healCut(ctx); err != nil {
		t.Fatal(err)
	}
	if got := toxics(); len(got) != 3 {
		t.Fatalf("healing one partition must leave the other and the latency, got %v", got)
	}
	if err := healLatency(ctx); err != nil {
		t.Fatal(err)
	}
	if got := toxics(); len(got) != 2 || !strings.HasPrefix(got[0], "timeout/") {
		t.Fatalf("healing the latency must leave the second partition, got %v", got)
	}
	if err := healCut2(ctx); err != nil {
		t.Fatal(err)
	}
	if got := toxics(); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
	if err := tr.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
}
