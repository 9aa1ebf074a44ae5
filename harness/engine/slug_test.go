package engine

import "testing"

// Specs that begin alike get their own artifact folders.
func TestSpecSlugKeepsAlikeSpecsApart(t *testing.T) {
	a := Row{Label: "skew", Spec: "when region A restarts cold with its clock 10s ahead"}
	b := Row{Label: "skew", Spec: "when region A restarts cold with its clock 10s behind"}
	if SpecSlug(a, 0) == SpecSlug(b, 0) {
		t.Fatalf("both specs use %s", SpecSlug(a, 0))
	}
	if got := SpecSlug(Row{N: 3, Label: "plan-3", Spec: "x"}, 1); got != "plan-3-retry1" {
		t.Fatalf("plan row slug %q", got)
	}
	if SpecSlug(a, 0) != SpecSlug(a, 0) {
		t.Fatal("slug not stable")
	}
}
