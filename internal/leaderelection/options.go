package leaderelection

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Options are a component's leader-election settings, shared by the
// scheduler and the controller manager as upstream's
// LeaderElectionConfiguration is, with the same flags. Zero values get the
// documented defaults (WithDefaults).
type Options struct {
	// Disable runs the component without the Lease (--leader-elect=false);
	// default false: leader election on.
	Disable bool
	// LeaseDuration (default 15s) is how long a Lease is valid without
	// renewal; RenewDeadline (default 10s) how long the leader keeps
	// trying to renew before it gives up; RetryPeriod (default 2s) the
	// wait between tries. Upstream's defaults.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ResourceNamespace and ResourceName locate the Lease; defaults
	// kube-system and the component's name.
	ResourceNamespace, ResourceName string
	// Identity written in the Lease; default hostname_uuid.
	Identity string
}

// WithDefaults fills unset fields; component is the default Lease name.
func (o Options) WithDefaults(component string) Options {
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.ResourceNamespace == "" {
		o.ResourceNamespace = "kube-system"
	}
	if o.ResourceName == "" {
		o.ResourceName = component
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "_" + string(uuid.NewUUID())
	}
	return o
}

// Validate reports every problem at once (none when disabled), as
// client-go's elector would refuse them only when the component starts.
func (o Options) Validate() error {
	if o.Disable {
		return nil
	}
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"lease duration", o.LeaseDuration}, {"renew deadline", o.RenewDeadline}, {"retry period", o.RetryPeriod}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.name, d.v))
		}
	}
	if o.RenewDeadline >= o.LeaseDuration {
		errs = append(errs, fmt.Errorf("renew deadline %s must be shorter than lease duration %s", o.RenewDeadline, o.LeaseDuration))
	}
	if o.ResourceNamespace == "" || o.ResourceName == "" {
		errs = append(errs, errors.New("leader election resource namespace and name are required"))
	}
	return errors.Join(errs...)
}

// AddFlags registers upstream's leader-election flags into o, with
// component as the default Lease name.
func (o *Options) AddFlags(fl *pflag.FlagSet, component string) {
	d := Options{}.WithDefaults(component)
	o.Disable = false
	fl.Var((*electFlag)(&o.Disable), "leader-elect", "run only while holding the Lease named by --leader-elect-resource-namespace/--leader-elect-resource-name")
	fl.Lookup("leader-elect").NoOptDefVal = "true"
	fl.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", d.LeaseDuration, "how long a leader's Lease is valid without renewal")
	fl.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", d.RenewDeadline, "how long the leader retries renewing before giving up")
	fl.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", d.RetryPeriod, "wait between tries to acquire or renew the Lease")
	fl.StringVar(&o.ResourceNamespace, "leader-elect-resource-namespace", d.ResourceNamespace, "namespace of the leader-election Lease")
	fl.StringVar(&o.ResourceName, "leader-elect-resource-name", d.ResourceName, "name of the leader-election Lease")
}

// electFlag is --leader-elect bound to Options.Disable (its negation), so
// the zero Options elect a leader.
type electFlag bool

func (f *electFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*f = electFlag(!v)
	return nil
}

func (f *electFlag) String() string { return strconv.FormatBool(!bool(*f)) }

func (f *electFlag) Type() string { return "bool" }
