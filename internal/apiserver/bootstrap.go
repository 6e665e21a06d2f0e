package apiserver

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/auth"
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates what a fresh cluster needs: system namespaces, the
// kubernetes service, and the default RBAC policy. It only creates what is
// missing, so restarts keep user changes.
func (s *Server) bootstrap(ctx context.Context) error {
	create := func(resource string, obj runtime.Object) error {
		sv := s.resources[resource]
		acc, err := metaAccessor(obj)
		if err != nil {
			return err
		}
		if _, err := sv.rest.Get(ctx, acc.GetNamespace(), acc.GetName()); err == nil {
			return nil
		}
		_, err = sv.rest.Create(ctx, acc.GetNamespace(), obj, false)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("create %s %s: %w", resource, acc.GetName(), err)
		}
		return nil
	}
	for _, name := range systemNamespaces {
		if err := create("/v1/namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			return err
		}
	}
	port := 443
	if tcp, ok := s.listener.Addr().(*net.TCPAddr); ok {
		port = tcp.Port
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.1",
			Ports:     []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(port))}},
		},
	}
	if err := create("/v1/services", svc); err != nil {
		return err
	}
	// Endpoints may not name a loopback address (upstream validation), so
	// a loopback-bound server publishes the service without endpoints.
	tcp, isTCP := s.listener.Addr().(*net.TCPAddr)
	if !isTCP || tcp.IP.IsLoopback() || tcp.IP.IsUnspecified() {
		return s.bootstrapRBAC(create)
	}
	host := tcp.IP.String()
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}},
		}},
	}
	if err := create("/v1/endpoints", ep); err != nil {
		return err
	}
	return s.bootstrapRBAC(create)
}

// bootstrapRBAC creates the default roles and bindings that are missing.
func (s *Server) bootstrapRBAC(create func(string, runtime.Object) error) error {
	policy := auth.BootstrapPolicy()
	for _, o := range policy.ClusterRoles {
		if err := create("rbac.authorization.k8s.io/v1/clusterroles", o.DeepCopy()); err != nil {
			return err
		}
	}
	for _, o := range policy.ClusterRoleBindings {
		if err := create("rbac.authorization.k8s.io/v1/clusterrolebindings", o.DeepCopy()); err != nil {
			return err
		}
	}
	for _, o := range policy.Roles {
		if err := create("rbac.authorization.k8s.io/v1/roles", o.DeepCopy()); err != nil {
			return err
		}
	}
	for _, o := range policy.RoleBindings {
		if err := create("rbac.authorization.k8s.io/v1/rolebindings", o.DeepCopy()); err != nil {
			return err
		}
	}
	return nil
}

// LoopbackConfig is a client config for the server's own privileged
// identity over HTTPS, trusting exactly the serving certificate.
func (s *Server) LoopbackConfig() *rest.Config {
	leaf := s.cfg.ServingCert.Certificate[0]
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf})
	host := s.Addr()
	serverName := ""
	if c, err := x509.ParseCertificate(leaf); err == nil {
		ip := net.ParseIP("127.0.0.1")
		hasIP := false
		for _, a := range c.IPAddresses {
			if a.Equal(ip) {
				hasIP = true
			}
		}
		if !hasIP && len(c.DNSNames) > 0 {
			serverName = c.DNSNames[0]
		}
	}
	if tcp, ok := s.listener.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return &rest.Config{
		Host:            "https://" + host,
		BearerToken:     s.loopbackToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM, ServerName: serverName},
		QPS:             -1,
		UserAgent:       "kplane-apiserver-loopback",
	}
}

// startAuthorizer runs RBAC on shared informers over the loopback client
// and waits until they have synced.
func (s *Server) startAuthorizer(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(s.LoopbackConfig())
	if err != nil {
		return fmt.Errorf("loopback client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	lister := auth.ListerFromInformers(factory)
	factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			return fmt.Errorf("RBAC informer for %v did not sync", typ)
		}
	}
	rbac := auth.NewRBAC(lister)
	if rr, ok := rbac.(auth.RuleResolver); ok {
		s.ruleResolver.Store(rr)
	}
	s.authz.Store(&authorizerRef{auth.NewUnionAuthorizer(auth.NewPrivilegedGroups(auth.GroupMasters), rbac)})
	s.rbacSynced.Store(true)
	return nil
}
