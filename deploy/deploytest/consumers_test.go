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

// orderedReaders may read a stream with an ordered consumer by hand.
// Services read history with bus.Scan and follow a stream with
// bus.Follow; only a benchmark tool is left here.
var orderedReaders = map[string]string{
	"services/scheduler/cmd/kueuebench/main.go": "a benchmark tool that follows the log",
}

// Every consumer of work runs through pkg/bus (its router applies the
// ack, retry and dead-letter policy); no service or command consumes
// JetStream by hand.
func TestNoRawJetStreamConsumerOutsidePkgBus(t *testing.T) {
	root := repoRoot(t)
	var offenders []string
	walkGo(t, root, []string{"services", "cmd"}, false, func(rel, path string) error {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := rawConsumer.FindString(line); m != "" && !allowedOrdered(rel, m) {
				offenders = append(offenders, rel+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	assert.Empty(t, offenders, "register these with a bus.Router (pkg/bus) instead")
}

// allowedOrdered lets a listed reader use an ordered consumer and read
// it (Consume, Fetch, FetchNoWait, Messages), and nothing else.
func allowedOrdered(rel, call string) bool {
	if _, ok := orderedReaders[rel]; !ok {
		return false
	}
	switch call {
	case ".OrderedConsumer(", ".Consume(", ".Fetch(", ".FetchNoWait(", ".Messages(":
		return true
	}
	return false
}
