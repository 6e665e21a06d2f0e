package leaderelection

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestOptionsFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want Options
	}{
		{"defaults", nil, Options{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, ResourceNamespace: "kube-system", ResourceName: "kube-scheduler"}},
		{"disabled", []string{"--leader-elect=false"}, Options{Disable: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, ResourceNamespace: "kube-system", ResourceName: "kube-scheduler"}},
		{"bare flag elects", []string{"--leader-elect=false", "--leader-elect"}, Options{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, ResourceNamespace: "kube-system", ResourceName: "kube-scheduler"}},
		{"all set", []string{"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms", "--leader-elect-resource-namespace=ns", "--leader-elect-resource-name=lock"},
			Options{LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond, ResourceNamespace: "ns", ResourceName: "lock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fl, "kube-scheduler")
			if err := fl.Parse(tc.args); err != nil {
				t.Fatalf("parse %v: %v", tc.args, err)
			}
			if o != tc.want {
				t.Errorf("parsed %+v, want %+v", o, tc.want)
			}
			if err := o.WithDefaults("kube-scheduler").Validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Options
		want []string // substrings of the error; none means valid
	}{
		{"defaults", Options{}, nil},
		{"renew not shorter", Options{LeaseDuration: 10 * time.Second, RenewDeadline: 10 * time.Second}, []string{"renew deadline 10s must be shorter than lease duration 10s"}},
		{"negative", Options{RetryPeriod: -time.Second}, []string{"retry period must be positive"}},
		{"disabled skips checks", Options{Disable: true, LeaseDuration: time.Second, RenewDeadline: time.Minute}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.WithDefaults("c").Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate: no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
