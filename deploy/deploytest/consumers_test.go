package deploytest

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// rawConsumer matches the JetStream calls that consume a stream by hand:
// durable consumers, pulls, pushes and ordered consumers.
var rawConsumer = regexp.MustCompile(`\.(CreateOrUpdateConsumer|CreateConsumer|UpdateConsumer|PullSubscribe|OrderedConsumer|Consume|Fetch|FetchNoWait|Messages)\(`)

// Every consumer of work runs through pkg/bus (its router applies the
// ack, retry and dead-letter policy), and reading back goes through
// bus.Scan and bus.Follow; no service or command consumes JetStream by
// hand. Benchmark tools (bench/) are outside services and cmd.
func TestNoRawJetStreamConsumerOutsidePkgBus(t *testing.T) {
	root := repoRoot(t)
	var offenders []string
	walkGo(t, root, []string{"services", "cmd"}, false, func(rel, path string) error {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if rawConsumer.MatchString(line) {
				offenders = append(offenders, rel+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	assert.Empty(t, offenders, "register these with a bus.Router (pkg/bus) instead")
}
