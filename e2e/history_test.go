package e2e

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"

	"github.com/paysaga/paysaga/codec"
)

var (
	recordedMu sync.Mutex
	recorded   = map[string]bool{}
)

// recordRelease is the release whose histories a run records (PAYSAGA_RECORD_HISTORIES,
// e.g. v0.2.0); empty records nothing.
var recordRelease = os.Getenv("PAYSAGA_RECORD_HISTORIES")

// releaseName is the shape of a release's folder of histories.
var releaseName = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// recordHistory saves a finished workflow's history for the replay test in package
// workflows, as workflows/testdata/histories/<release>/<name>.json, when
// PAYSAGA_RECORD_HISTORIES names the release. A scenario that runs once per app database
// records from its SQLite run only: the history is the same on both, and one file per
// scenario is enough. A history already recorded is never overwritten: executions of that
// release may still be running, and the file is what proves they replay.
func (c *checkout) recordHistory(workflowID, name string) {
	c.t.Helper()
	if recordRelease == "" || filepath.Base(c.t.Name()) == "postgres" {
		return
	}
	if !releaseName.MatchString(recordRelease) {
		c.t.Fatalf("PAYSAGA_RECORD_HISTORIES=%q: name the release the histories belong to, e.g. v0.2.0", recordRelease)
	}
	// The first run of a scenario is the one recorded: a later run of the same workflow in
	// the same test (a second reconciliation, say) has less to show.
	recordedMu.Lock()
	first := !recorded[name]
	recorded[name] = true
	recordedMu.Unlock()
	if !first {
		return
	}
	iter := c.stack.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			c.t.Fatalf("read history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	// The stack seals payloads with a key of its own, which dies with it. The recording
	// seals them again with the release's replay key (a test key beside the histories), and
	// leaves what came unsealed unsealed: the workers refuse plaintext, so the replay must
	// see exactly which payloads were sealed to run as the worker ran.
	replay, err := replayCodec(recordRelease)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := proxy.VisitPayloads(context.Background(), &hist, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			out := make([]*commonpb.Payload, len(ps))
			for i, p := range ps {
				if !codec.Sealed(p) {
					out[i] = p
					continue
				}
				opened, err := c.stack.Codec.Decode([]*commonpb.Payload{p})
				if err != nil {
					return nil, err
				}
				resealed, err := replay.Encode(opened)
				if err != nil {
					return nil, err
				}
				out[i] = resealed[0]
			}
			return out, nil
		},
		SkipSearchAttributes: true,
	}); err != nil {
		c.t.Fatalf("reseal the payloads of %s: %v", workflowID, err)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", recordRelease, name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		c.t.Fatalf("%s is recorded already: a release's histories are not replaced (record under a new release)", path)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		c.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("recorded %s", path)
}

// replayCodec is the codec of a release's recordings, from the release folder's
// replay.keys, which the first recording creates. The key is a test key and is committed:
// it protects nothing, and the replay test needs it.
func replayCodec(release string) (*codec.Codec, error) {
	recordedMu.Lock()
	defer recordedMu.Unlock()
	keys, err := codec.LoadOrCreateKeyFile(filepath.Join("..", "workflows", "testdata", "histories", release, "replay.keys"))
	if err != nil {
		return nil, err
	}
	return codec.New(keys...)
}

// recordRefundHistory records the history of the order's first refund, whose workflow ID
// the API derived from the request and stored with it.
func (c *checkout) recordRefundHistory(orderID, name string) {
	c.t.Helper()
	if recordRelease == "" || filepath.Base(c.t.Name()) == "postgres" {
		return
	}
	refunds, err := c.stack.Store.Refunds(context.Background(), orderID)
	if err != nil || len(refunds) == 0 {
		c.t.Fatalf("refunds of %s: %+v, %v", orderID, refunds, err)
	}
	c.recordHistory(refunds[0].RequestID, name)
}
