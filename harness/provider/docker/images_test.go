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

// Every image of both sets is named: the five every topology needs
// (checked by Available, list) and the observers' (checked when a spec asks
// for them): a set missing one would start a container from "".
func TestImageSetsNameEveryImage(t *testing.T) {
	for name, im := range map[string]Images{"local": LocalImages(), "upstream": UpstreamImages()} {
		l := append(im.list(), im.Prometheus, im.Alertmanager)
		if len(im.list()) != 5 {
			t.Errorf("%s: list() = %v, want the 5 images every topology needs", name, im.list())
		}
		for _, img := range l {
			if img == "" {
				t.Errorf("%s: an image is unnamed: %+v", name, im)
			}
		}
	}
	if im := LocalImages(); im.Prometheus != "agentops/prometheus:local" || im.Alertmanager != "agentops/alertmanager:local" {
		t.Errorf("local observers: %+v (scripts/build-images.sh builds agentops/prometheus:local and agentops/alertmanager:local)", im)
	}
}
