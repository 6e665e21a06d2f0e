package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ctr(cpu, mem string) corev1.Container {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: rl}}
}

func sidecar(cpu string) corev1.Container {
	c := ctr(cpu, "")
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name             string
		spec             corev1.PodSpec
		wantCPU, wantMem int64
		nonZeroCPU       int64
	}{
		{name: "sum of containers", spec: corev1.PodSpec{Containers: []corev1.Container{ctr("100m", "1Ki"), ctr("200m", "1Ki")}}, wantCPU: 300, wantMem: 2048, nonZeroCPU: 300},
		{name: "init container larger than sum wins", spec: corev1.PodSpec{InitContainers: []corev1.Container{ctr("1", "")}, Containers: []corev1.Container{ctr("100m", "")}}, wantCPU: 1000, nonZeroCPU: 1000},
		{name: "init container smaller than sum", spec: corev1.PodSpec{InitContainers: []corev1.Container{ctr("50m", "")}, Containers: []corev1.Container{ctr("100m", "")}}, wantCPU: 100, nonZeroCPU: 100},
		{name: "sidecar adds to containers and to later init containers", spec: corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar("200m"), ctr("500m", "")}, Containers: []corev1.Container{ctr("100m", "")}}, wantCPU: 700, nonZeroCPU: 700},
		{name: "overhead added", spec: corev1.PodSpec{Containers: []corev1.Container{ctr("100m", "")},
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}, wantCPU: 110, nonZeroCPU: 110},
		{name: "no requests: zero for fit, defaults for scoring", spec: corev1.PodSpec{Containers: []corev1.Container{{}}}, wantCPU: 0, nonZeroCPU: DefaultMilliCPURequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: tt.spec}
			r := PodRequests(p)
			if r.MilliCPU != tt.wantCPU || r.Memory != tt.wantMem {
				t.Errorf("PodRequests = cpu %d mem %d, want %d %d", r.MilliCPU, r.Memory, tt.wantCPU, tt.wantMem)
			}
			if c, _ := NonZeroRequests(p); c != tt.nonZeroCPU {
				t.Errorf("NonZeroRequests cpu = %d, want %d", c, tt.nonZeroCPU)
			}
		})
	}
}

func TestHostPortConflict(t *testing.T) {
	h := HostPortInfo{}
	h.Add("127.0.0.1", "TCP", 80)
	h.Add("", "", 443)
	tests := []struct {
		name     string
		ip, prot string
		port     int32
		want     bool
	}{
		{"same ip and port", "127.0.0.1", "TCP", 80, true},
		{"other ip", "10.0.0.1", "TCP", 80, false},
		{"wildcard conflicts with any ip", "0.0.0.0", "TCP", 80, true},
		{"used wildcard conflicts with specific ip", "10.0.0.1", "", 443, true},
		{"other protocol", "127.0.0.1", "UDP", 80, false},
		{"port zero never conflicts", "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.CheckConflict(tt.ip, tt.prot, tt.port); got != tt.want {
				t.Errorf("CheckConflict = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNodeInfoAddRemove(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "a"}, Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("100m", "1Mi")}}}
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 8080, ContainerPort: 80}}
	ni := NewNodeInfo(p)
	c := ni.Clone()
	if ni.Requested.MilliCPU != 100 || !ni.UsedPorts.CheckConflict("", "TCP", 8080) || len(ni.Pods()) != 1 {
		t.Fatalf("after add: %+v", ni)
	}
	if !ni.RemovePod("a") {
		t.Fatal("RemovePod did not find the pod")
	}
	if ni.Requested.MilliCPU != 0 || ni.UsedPorts.CheckConflict("", "TCP", 8080) || len(ni.Pods()) != 0 {
		t.Fatalf("after remove: %+v", ni)
	}
	if c.Requested.MilliCPU != 100 || len(c.Pods()) != 1 {
		t.Fatalf("clone changed with original: %+v", c)
	}
}

func TestStatus(t *testing.T) {
	var nilStatus *Status
	if !nilStatus.IsSuccess() || nilStatus.AsError() != nil {
		t.Error("nil status must be success")
	}
	s := NewStatus(Unschedulable, "Insufficient cpu", "Insufficient memory")
	if s.Message() != "Insufficient cpu, Insufficient memory" || !s.IsRejected() || s.AsError() == nil {
		t.Errorf("status = %q rejected=%v", s.Message(), s.IsRejected())
	}
}
