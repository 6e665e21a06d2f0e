package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultContextName names the cluster, user and context in kubeconfigs
// written with an empty contextName.
const DefaultContextName = "kplane"

// WriteKubeconfig writes a kubeconfig at path (mode 0600, parent dirs 0700
// if created) that reaches server, trusts caPEM and authenticates with the
// client certificate certPEM/keyPEM. All material is embedded (the *-data
// fields), so the file keeps working if the PKI dir moves. Cluster, user and
// context are all named contextName (default "kplane"), which is current.
// An existing file at path is replaced, not merged.
func WriteKubeconfig(path, server string, caPEM, certPEM, keyPEM []byte, contextName string) error {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return errors.New("pki: WriteKubeconfig: client certificate and key are required")
	}
	return writeKubeconfig(path, server, caPEM, contextName, &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	})
}

// WriteTokenKubeconfig is WriteKubeconfig for a bearer token (for example a
// service-account token) instead of a client certificate.
func WriteTokenKubeconfig(path, server string, caPEM []byte, token, contextName string) error {
	if token == "" {
		return errors.New("pki: WriteTokenKubeconfig: token is required")
	}
	return writeKubeconfig(path, server, caPEM, contextName, &clientcmdapi.AuthInfo{Token: token})
}

func writeKubeconfig(path, server string, caPEM []byte, name string, user *clientcmdapi.AuthInfo) error {
	if path == "" || server == "" {
		return errors.New("pki: kubeconfig path and server are required")
	}
	if name == "" {
		name = DefaultContextName
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = user
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("pki: encode kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("pki: kubeconfig dir: %w", err)
	}
	if err := writeFileAtomic(path, data, keyMode); err != nil {
		return fmt.Errorf("pki: kubeconfig: %w", err)
	}
	return nil
}
