package docker

import (
	"context"
	"strings"
	"testing"
)

func TestResolveImagesNamedSets(t *testing.T) {
	ctx := context.Background()
	up, _, err := ResolveImages(ctx, "upstream")
	if err != nil || !up.Upstream || up.Dynamo != "amazon/dynamodb-local:latest" || up.Toxiproxy != "ghcr.io/shopify/toxiproxy:2.12.0" {
		t.Fatalf("upstream: %+v %v", up, err)
	}
	loc, _, err := ResolveImages(ctx, "local")
	if err != nil || loc.Upstream || !strings.HasSuffix(loc.Runtime, ":local") {
		t.Fatalf("local: %+v %v", loc, err)
	}
	if _, _, err := ResolveImages(ctx, "latest"); err == nil || !strings.Contains(err.Error(), "images:") {
		t.Fatalf("a bad set must be refused naming the field, got %v", err)
	}
	if New(Options{}).opts.Images != UpstreamImages() {
		t.Fatal("the provider's default must be the upstream images")
	}
}
