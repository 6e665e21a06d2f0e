package perftest

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// BuiltinSpec is the default workload, a commented YAML file users copy.
//
//go:embed workload.yaml
var BuiltinSpec []byte

// Spec describes the workload of both tests: what objects, how many, how
// fast. The built-in one follows upstream's density and load configs.
type Spec struct {
	PodsPerNode       int         `json:"podsPerNode"`
	NodesPerNamespace int         `json:"nodesPerNamespace"`
	Pod               PodTemplate `json:"pod"`
	Density           DensitySpec `json:"density"`
	Load              LoadSpec    `json:"load"`
}

// PodTemplate is the pod every workload object creates.
type PodTemplate struct {
	Image                         string `json:"image"`
	CPU                           string `json:"cpu"`
	Memory                        string `json:"memory"`
	TerminationGracePeriodSeconds int64  `json:"terminationGracePeriodSeconds"`
}

// DensitySpec is the density test's workload.
type DensitySpec struct {
	Kind            string          `json:"kind"`
	PodsPerObject   int             `json:"podsPerObject"`
	Saturation      Tuning          `json:"saturation"`
	LatencyPods     int             `json:"latencyPods"`
	LatencyInterval metav1.Duration `json:"latencyInterval"`
}

// LoadSpec is the load test's workload.
type LoadSpec struct {
	Deployments             []DeploymentClass `json:"deployments"`
	ServicesPerDeployment   int               `json:"servicesPerDeployment"`
	ConfigMapsPerDeployment int               `json:"configMapsPerDeployment"`
	SecretsPerDeployment    int               `json:"secretsPerDeployment"`
	Scale                   ScaleSpec         `json:"scale"`
	Create                  Tuning            `json:"create"`
	ScaleTuning             Tuning            `json:"scaleTuning"`
	Update                  Tuning            `json:"update"`
	Delete                  Tuning            `json:"delete"`
}

// DeploymentClass is a size of Deployment and its share of the pods.
type DeploymentClass struct {
	Name     string  `json:"name"`
	Replicas int     `json:"replicas"`
	Share    float64 `json:"share"`
}

// ScaleSpec bounds the random scale factors.
type ScaleSpec struct {
	MinFactor float64 `json:"minFactor"`
	MaxFactor float64 `json:"maxFactor"`
}

// LoadSpecFile reads a workload YAML over the built-in spec, so a file
// only needs the fields it changes.
func LoadSpecFile(path string) (Spec, error) {
	s, err := ParseSpec(nil)
	if err != nil {
		return s, err
	}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("workload spec: %w", err)
	}
	return ParseSpec(b)
}

// ParseSpec parses YAML over the built-in spec (nil gives the built-in).
// Unknown fields are errors: a typo must not silently run the default.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := yaml.UnmarshalStrict(BuiltinSpec, &s); err != nil {
		return s, fmt.Errorf("built-in spec: %w", err)
	}
	if b != nil {
		if err := yaml.UnmarshalStrict(b, &s); err != nil {
			return s, fmt.Errorf("workload spec: %w", err)
		}
	}
	return s, nil
}

// ErrInvalidSpec wraps every Validate failure.
var ErrInvalidSpec = errors.New("invalid workload spec")

// Validate reports every problem at once.
func (s Spec) Validate() error {
	var errs []string
	if s.PodsPerNode < 1 {
		errs = append(errs, "podsPerNode must be >= 1")
	}
	if s.NodesPerNamespace < 1 {
		errs = append(errs, "nodesPerNamespace must be >= 1")
	}
	for name, q := range map[string]string{"pod.cpu": s.Pod.CPU, "pod.memory": s.Pod.Memory} {
		if _, err := resource.ParseQuantity(q); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if s.Pod.Image == "" {
		errs = append(errs, "pod.image is required")
	}
	if s.Density.Kind != "ReplicationController" && s.Density.Kind != "Deployment" {
		errs = append(errs, fmt.Sprintf("density.kind %q: want ReplicationController or Deployment", s.Density.Kind))
	}
	if s.Density.PodsPerObject < 0 || s.Density.LatencyPods < 0 {
		errs = append(errs, "density.podsPerObject and density.latencyPods must be >= 0")
	}
	if s.Density.LatencyInterval.Duration < 0 {
		errs = append(errs, "density.latencyInterval must be >= 0")
	}
	if len(s.Load.Deployments) == 0 {
		errs = append(errs, "load.deployments needs at least one class")
	}
	for i, d := range s.Load.Deployments {
		if d.Replicas < 1 || d.Share < 0 || d.Name == "" {
			errs = append(errs, fmt.Sprintf("load.deployments[%d] needs a name, replicas >= 1 and share >= 0", i))
		}
	}
	if s.Load.Scale.MinFactor <= 0 || s.Load.Scale.MaxFactor < s.Load.Scale.MinFactor {
		errs = append(errs, "load.scale needs 0 < minFactor <= maxFactor")
	}
	if s.Load.ServicesPerDeployment < 0 || s.Load.ConfigMapsPerDeployment < 0 || s.Load.SecretsPerDeployment < 0 {
		errs = append(errs, "load.*PerDeployment must be >= 0")
	}
	for name, t := range map[string]Tuning{"density.saturation": s.Density.Saturation, "load.create": s.Load.Create,
		"load.scaleTuning": s.Load.ScaleTuning, "load.update": s.Load.Update, "load.delete": s.Load.Delete} {
		for _, e := range t.Validate() {
			errs = append(errs, name+": "+e)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(errs, "; "))
	}
	return nil
}
