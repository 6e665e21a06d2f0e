package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPodDefaultsAndPrepareForCreate(t *testing.T) {
	p := createdPod(t, func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers,
			corev1.Container{
				Name: "sidecar", Image: "busybox",
				Ports:     []corev1.ContainerPort{{ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": q("500m"), "memory": q("64Mi")}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)},
				}},
			})
	})
	s := p.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"securityContext", *s.SecurityContext, corev1.PodSecurityContext{}},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"priority", *s.Priority, int32(0)},
		{"preemptionPolicy", *s.PreemptionPolicy, corev1.PreemptLowerPriority},
		{"tagged pull policy", s.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"untagged pull policy", s.Containers[1].ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", s.Containers[0].TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", s.Containers[0].TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", s.Containers[1].Ports[0].Protocol, corev1.ProtocolTCP},
		{"probe timeout", s.Containers[1].LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe period", s.Containers[1].LivenessProbe.PeriodSeconds, int32(10)},
		{"probe success", s.Containers[1].LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failure", s.Containers[1].LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet scheme", s.Containers[1].LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"httpGet path", s.Containers[1].LivenessProbe.HTTPGet.Path, "/"},
		{"requests from limits", s.Containers[1].Resources.Requests.Cpu().String(), "500m"},
		{"phase", p.Status.Phase, corev1.PodPending},
		{"qos", p.Status.QOSClass, corev1.PodQOSBurstable},
		{"toleration count", len(s.Tolerations), 2},
		{"serviceAccountName", s.ServiceAccountName, "default"},
		{"serviceAccount", s.DeprecatedServiceAccount, "default"},
	}
	for _, c := range checks {
		if !apiequality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	want := []corev1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
	}
	if !apiequality.Semantic.DeepEqual(s.Tolerations, want) {
		t.Errorf("tolerations = %+v, want %+v", s.Tolerations, want)
	}
}

func TestPodAdmissionDefaults(t *testing.T) {
	tests := []struct {
		name            string
		mutate          func(*corev1.Pod)
		wantPriority    *int32
		wantTolerations int
	}{
		{"node critical class", func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" }, ptr.To[int32](2000001000), 2},
		{"custom class left for lookup", func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }, nil, 2},
		{"existing wildcard toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		}, ptr.To[int32](0), 1},
		{"existing not-ready toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
		}, ptr.To[int32](0), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := createdPod(t, tc.mutate)
			if !apiequality.Semantic.DeepEqual(p.Spec.Priority, tc.wantPriority) {
				t.Errorf("priority = %v, want %v", ptr.Deref(p.Spec.Priority, -1), ptr.Deref(tc.wantPriority, -1))
			}
			if len(p.Spec.Tolerations) != tc.wantTolerations {
				t.Errorf("tolerations = %+v, want %d", p.Spec.Tolerations, tc.wantTolerations)
			}
		})
	}
}

func TestPodQOS(t *testing.T) {
	res := func(req, lim corev1.ResourceList) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: req, Limits: lim}
		}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   corev1.PodQOSClass
	}{
		{"no resources", func(*corev1.Pod) {}, corev1.PodQOSBestEffort},
		{"limits only cpu and memory", res(nil, corev1.ResourceList{"cpu": q("1"), "memory": q("1Gi")}), corev1.PodQOSGuaranteed},
		{"requests below limits", res(corev1.ResourceList{"cpu": q("500m")}, corev1.ResourceList{"cpu": q("1"), "memory": q("1Gi")}), corev1.PodQOSBurstable},
		{"only memory limit", res(nil, corev1.ResourceList{"memory": q("1Gi")}), corev1.PodQOSBurstable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createdPod(t, tc.mutate).Status.QOSClass; got != tc.want {
				t.Errorf("qos = %s, want %s", got, tc.want)
			}
		})
	}
}

const (
	dns1123LabelMsg     = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)

func TestPodValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   string
	}{
		{"valid", func(*corev1.Pod) {}, ""},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, "spec.containers: Required value"},
		{"missing image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, "spec.containers[0].image: Required value"},
		{"image whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			`spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace`},
		{"bad container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" },
			`spec.containers[0].name: Invalid value: "App_1": ` + dns1123LabelMsg},
		{"bad pod name", func(p *corev1.Pod) { p.Name = "Web" }, `metadata.name: Invalid value: "Web": ` + dns1123SubdomainMsg},
		{"duplicate container", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) },
			`spec.containers[1].name: Duplicate value: "app"`},
		{"init and app name clash", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "busybox"}} },
			`spec.initContainers[0].name: Duplicate value: "app"`},
		{"mount of unknown volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, `spec.containers[0].volumeMounts[0].name: Not found: "data"`},
		{"duplicate volume", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data"}, {Name: "data"}}
		}, `spec.volumes[1].name: Duplicate value: "data"`},
		{"two volume sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"},
			}}}
		}, "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"},
		{"configMap volume without name", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}
		}, "spec.volumes[0].configMap.name: Required value"},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{"cpu": q("2")}, Limits: corev1.ResourceList{"cpu": q("1")},
			}
		}, `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`},
		{"unknown resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"gpu": q("1")}}
		}, `[spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified, spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers]`},
		{"negative quantity", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"memory": q("-1")}}
		}, `spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`},
		{"bad restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		{"bad dns policy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Cluster" },
			`spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`},
		{"dns none without config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"},
		{"bad port protocol", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}}
		}, `spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`},
		{"port out of range", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
		}, `spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`},
		{"env name with equals", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}}
		}, `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`},
		{"env value and valueFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
			}}}
		}, "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"},
		{"unsupported downward field", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.hostname"},
			}}}
		}, `spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.hostname": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`},
		{"liveness success threshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 2, ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}},
			}}
		}, "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"},
		{"probe without handler", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{} },
			"spec.containers[0].readinessProbe: Required value: must specify a handler type"},
		{"toleration seconds needs NoExecute", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)}}
		}, "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"},
		{"bad node selector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd!"} },
			`spec.nodeSelector: Invalid value: "ssd!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"bad hostname", func(p *corev1.Pod) { p.Spec.Hostname = "Host" }, `spec.hostname: Invalid value: "Host": ` + dns1123LabelMsg},
		{"affinity without terms", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"},
		{"pod affinity without topology key", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}}}
		}, "[spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty, " +
			`spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must be non-empty, ` +
			`spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')]`},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}, "spec.ephemeralContainers: Forbidden: cannot be set on create"},
		{"host network port mismatch", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81}}
		}, "spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"},
		{"host network port defaulted", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
		}, ""},
		{"active deadline zero", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) },
			"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "Pod", testPod(tc.mutate)); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPodValidateUpdate(t *testing.T) {
	tests := []struct {
		name       string
		old        func(*corev1.Pod)
		mutate     func(*corev1.Pod)
		want       string
		wantPrefix bool
	}{
		{"image change", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, "", false},
		{"labels change", nil, func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, "", false},
		{"command change", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"sh"} },
			"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n", true},
		{"add container", nil, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "busybox"})
		}, "spec.containers: Forbidden: pod updates may not add or remove containers", false},
		{"set active deadline", nil, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](10) }, "", false},
		{"raise active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](10) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](20) },
			"spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value", false},
		{"clear active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](10) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			`spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value`, false},
		{"add toleration", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})
		}, "", false},
		{"modify toleration", nil, func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "other" },
			"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds", false},
		{"remove scheduling gate", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "b"}} },
			func(p *corev1.Pod) { p.Spec.SchedulingGates = p.Spec.SchedulingGates[1:] }, "", false},
		{"add scheduling gate", nil, func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}} },
			"spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'a'", false},
		{"gated pod gains node selector", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}} },
			func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} }, "", false},
		{"rename", nil, func(p *corev1.Pod) { p.Name = "other" },
			`metadata.name: Invalid value: "other": field is immutable`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var oldMut []func(*corev1.Pod)
			if tc.old != nil {
				oldMut = append(oldMut, tc.old)
			}
			old := createdPod(t, oldMut...)
			pod := old.DeepCopy()
			tc.mutate(pod)
			got := updateErrors(t, "Pod", pod, old)
			if tc.wantPrefix {
				if !strings.HasPrefix(got, tc.want) {
					t.Errorf("errors:\n got %s\nwant prefix %s", got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPodStatusUpdateAndFields(t *testing.T) {
	old := createdPod(t, func(p *corev1.Pod) { p.Spec.NodeName = "node-1" })
	f := hooks(t, "Pod")
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   string
	}{
		{"running with ip", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP = "10.0.0.5"
		}, ""},
		{"bad pod ip", func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.300"}} },
			`status.podIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"bad nominated node", func(p *corev1.Pod) { p.Status.NominatedNodeName = "Node_1" },
			`status.nominatedNodeName: Invalid value: "Node_1": ` + dns1123SubdomainMsg},
		{"qos change", func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			`status.qosClass: Invalid value: "Guaranteed": field is immutable`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			f.Default(p)
			if got := errString(f.ValidateStatusUpdate(p, old)); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	running := old.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	running.Status.PodIP = "10.0.0.5"
	f.Default(running)
	want := fields.Set{
		"spec.nodeName": "node-1", "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "default", "spec.hostNetwork": "false", "status.phase": "Running",
		"status.podIP": "10.0.0.5", "status.nominatedNodeName": "",
	}
	if got := f.Fields(running); !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestValidateBinding(t *testing.T) {
	tests := []struct {
		name   string
		target corev1.ObjectReference
		want   string
	}{
		{"node", corev1.ObjectReference{Kind: "Node", Name: "n1"}, ""},
		{"empty kind", corev1.ObjectReference{Name: "n1"}, ""},
		{"wrong kind", corev1.ObjectReference{Kind: "Pod", Name: "n1"}, `target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"`},
		{"no name", corev1.ObjectReference{Kind: "Node"}, "target.name: Required value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errString(ValidateBinding(&corev1.Binding{ObjectMeta: meta("web"), Target: tc.target})); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
