package psp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

// TestFaults checks each knob's effect. Every decision sees the random
// number 0.5, so a rate of 0.6 always fires and 0.4 never does.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults psp.Faults
		// clientWait bounds the request; short ones expect no answer.
		clientWait time.Duration
		wantErr    bool   // the client gets no answer at all
		status     int    // else the answer's status
		slug       string // and problem type, when it is one
		payStatus  string // status of the payment afterwards, "" for none
	}{
		{"none", psp.Faults{}, 0, false, 201, "", psp.StatusCaptured},
		{"error fires", psp.Faults{ErrorRate: 0.6}, 0, false, 503, "injected-error", ""},
		{"error below roll", psp.Faults{ErrorRate: 0.4}, 0, false, 201, "", psp.StatusCaptured},
		{"timeout hangs", psp.Faults{TimeoutRate: 0.6}, 300 * time.Millisecond, true, 0, "", ""},
		{"latency delays before handling", psp.Faults{LatencyMS: 60_000}, 300 * time.Millisecond, true, 0, "", ""},
		{"small latency", psp.Faults{LatencyMS: 1, LatencyJitterMS: 2}, 0, false, 201, "", psp.StatusCaptured},
		{"decline", psp.Faults{DeclineRate: 0.6}, 0, false, 201, "", psp.StatusDeclined},
		{"drop response", psp.Faults{DropResponseRate: 0.6}, 0, true, 0, "", psp.StatusCaptured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := setup(t, psp.Config{Rand: fixedRand(0.5), Faults: tt.faults})
			ctx := context.Background()
			if tt.clientWait > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.clientWait)
				defer cancel()
			}
			r, err := do(t, ctx, http.MethodPost, srv.URL()+"/v1/payments", "k1", chargeBody("order-1", 1250, true))
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("got an answer %d %s, want none", r.status, r.body)
			case !tt.wantErr && err != nil:
				t.Fatal(err)
			case tt.slug != "":
				wantProblem(t, r, tt.status, tt.slug)
			case !tt.wantErr && r.status != tt.status:
				t.Fatalf("status = %d, want %d", r.status, tt.status)
			}
			// The timeout and latency requests may still be held: clearing
			// the faults does not release them, and they must do nothing.
			if err := srv.SetFaults(psp.Faults{}); err != nil {
				t.Fatal(err)
			}
			checkPayment(t, srv, "order-1", tt.payStatus)
		})
	}
}

func checkPayment(t *testing.T, srv *psp.Server, ref, status string) {
	t.Helper()
	got := byReference(t, srv, ref)
	switch {
	case status == "" && len(got) != 0:
		t.Fatalf("payments = %+v, want none", got)
	case status != "" && (len(got) != 1 || got[0].Status != status):
		t.Fatalf("payments = %+v, want one %s", got, status)
	}
}

func TestFaultsApplyToLookups(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{Rand: fixedRand(0.5)})
	p := create(t, srv, "k1", "order-1", false)
	putFaults(t, srv, psp.Faults{DropResponseRate: 1})
	if _, err := do(t, context.Background(), http.MethodPost, srv.URL()+"/v1/payments/"+p.ID+"/capture", "", ""); err == nil {
		t.Fatal("capture answered, want a dropped response")
	}
	putFaults(t, srv, psp.Faults{})
	checkPayment(t, srv, "order-1", psp.StatusCaptured)
}

func TestLedgerIsNeverFaulted(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{Rand: fixedRand(0), Faults: psp.Faults{ErrorRate: 1, DropResponseRate: 1}})
	if r := mustDo(t, http.MethodGet, srv.URL()+"/v1/ledger", "", ""); r.status != http.StatusOK {
		t.Fatalf("ledger = %d %s", r.status, r.body)
	}
}

func TestPutFaults(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"valid", `{"latency_ms":5,"latency_jitter_ms":3,"error_rate":0.1,"timeout_rate":0.2,"decline_rate":0.3,"drop_response_rate":1}`, 200},
		{"rate above one", `{"error_rate":1.5}`, 400},
		{"negative rate", `{"decline_rate":-0.1}`, 400},
		{"negative latency", `{"latency_ms":-1}`, 400},
		{"unknown knob", `{"chaos":1}`, 400},
		{"not json", `nope`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustDo(t, http.MethodPut, srv.URL()+"/v1/faults", "", tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.status, r.body)
			}
		})
	}
	var got psp.Faults
	if err := json.Unmarshal(mustDo(t, http.MethodGet, srv.URL()+"/v1/faults", "", "").body, &got); err != nil {
		t.Fatal(err)
	}
	want := psp.Faults{LatencyMS: 5, LatencyJitterMS: 3, ErrorRate: 0.1, TimeoutRate: 0.2, DeclineRate: 0.3, DropResponseRate: 1}
	if got != want {
		t.Fatalf("faults = %+v, want %+v (invalid puts must not change them)", got, want)
	}
}

func TestDeclineIsReplayed(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{Rand: fixedRand(0), Faults: psp.Faults{DeclineRate: 1}})
	first := create(t, srv, "k1", "order-1", true)
	putFaults(t, srv, psp.Faults{})
	again := create(t, srv, "k1", "order-1", true)
	if first.Status != psp.StatusDeclined || again != first {
		t.Fatalf("first = %+v, replay = %+v, want the same decline", first, again)
	}
}

func TestScriptedDropThenRetry(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{Rand: scriptedRand(0.9, 0.1), Faults: psp.Faults{DropResponseRate: 0.5}})
	if _, err := do(t, context.Background(), http.MethodPost, srv.URL()+"/v1/payments", "k1", chargeBody("order-1", 1250, true)); err == nil {
		t.Fatal("first attempt answered, want a dropped response")
	}
	p := create(t, srv, "k1", "order-1", true)
	if got := byReference(t, srv, "order-1"); len(got) != 1 || got[0].ID != p.ID {
		t.Fatalf("payments = %+v, want exactly the retried one", got)
	}
}
