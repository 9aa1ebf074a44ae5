package scenarios_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/agentops/failover-harness/reports"
	"github.com/agentops/failover-harness/scenarios/plan"
)

var (
	seedFlag     = flag.String("chaos.seed", "", "seed for every random choice (empty: random, printed)")
	providerFlag = flag.String("chaos.provider", "local", "topology provider: local | docker | auto")
	outFlag      = flag.String("chaos.out", "", "directory for run.json, junit.xml and index.html (empty: none)")
	imagesFlag   = flag.String("chaos.images", "auto", "docker image set: upstream | local | auto (local when built)")
	configFlag   = flag.String("chaos.config", "", "failover config YAML to run the plan against (empty: built-in defaults)")
)

// suite holds what BeforeSuite decided, shared by every spec.
var suite struct {
	env     *plan.Suite
	started time.Time
}

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Failover test plan")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	suite.started = time.Now()
	s, err := plan.NewSuite(ctx, plan.SuiteOptions{
		Seed:       *seedFlag,
		Provider:   *providerFlag,
		Images:     *imagesFlag,
		ConfigPath: *configFlag,
		Log:        GinkgoWriter,
		Progress:   os.Stderr,
	})
	Expect(err).NotTo(HaveOccurred())
	suite.env = s
	fmt.Fprintf(os.Stderr, "chaos: seed=%d provider=%s (%s)\n", s.Seed, s.Provider.Name(), s.ProviderReason)
}, NodeTimeout(5*time.Minute))

// runRow runs one plan row with every fault's heal registered through DeferCleanup,
// records its outcome for the report and asserts every check with its reason.
func runRow(ctx context.Context, row plan.Row) {
	env := suite.env.Env(func(name string, heal plan.HealFunc) {
		DeferCleanup(func(ctx SpecContext) {
			Expect(heal(ctx)).To(Succeed(), "healing %s", name)
		}, NodeTimeout(30*time.Second))
	})
	out, err := row.Run(ctx, env)
	if out != nil {
		suite.env.Record(out)
	}
	Expect(err).NotTo(HaveOccurred())
	for _, c := range out.Checks {
		Expect(c.OK).To(BeTrue(), "%s: %s", c.Name, c.Reason)
	}
}

var _ = Describe("Failover test plan", func() {
	for _, row := range plan.Rows() {
		row := row
		It(row.Spec, Label(row.Label), func(ctx SpecContext) {
			runRow(ctx, row)
		}, NodeTimeout(3*time.Minute))
	}
})

var _ = ReportAfterSuite("run record", func(r Report) {
	if *outFlag == "" || suite.env == nil {
		return
	}
	var results []plan.SpecResult
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		res := plan.SpecResult{Name: sr.LeafNodeText, Labels: sr.Labels(), Duration: sr.RunTime, Verdict: reports.Passed}
		switch {
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			res.Verdict = reports.Skipped
		case sr.State.Is(types.SpecStateFailureStates):
			res.Verdict, res.Failure = reports.Failed, sr.FailureMessage()
		}
		results = append(results, res)
	}
	rec := suite.env.BuildRecord(results, suite.started)
	Expect(os.MkdirAll(*outFlag, 0o755)).To(Succeed())
	Expect(plan.WriteOutputs(*outFlag, rec)).To(Succeed())
	fmt.Fprintf(os.Stderr, "chaos: report %s\nchaos: replay with: %s\n", filepath.Join(*outFlag, "index.html"), rec.Command)
})
