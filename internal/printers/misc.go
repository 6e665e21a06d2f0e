package printers

import (
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	coordinationv1 "k8s.io/api/coordination/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

func pdbPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Min Available", "string", "The minimum number of pods that must be available."),
		col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
		col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
		ageColumn(),
	}
	return typed(cols, func(pdb *policyv1.PodDisruptionBudget, now time.Time) ([]interface{}, error) {
		minAvailable, maxUnavailable := "N/A", "N/A"
		if pdb.Spec.MinAvailable != nil {
			minAvailable = pdb.Spec.MinAvailable.String()
		}
		if pdb.Spec.MaxUnavailable != nil {
			maxUnavailable = pdb.Spec.MaxUnavailable.String()
		}
		return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), age(pdb.CreationTimestamp, now)}, nil
	})
}

func leasePrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
		ageColumn(),
	}
	return typed(cols, func(l *coordinationv1.Lease, now time.Time) ([]interface{}, error) {
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return []interface{}{l.Name, holder, age(l.CreationTimestamp, now)}, nil
	})
}

func priorityClassPrinter() *Printer {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Value", "integer", doc["value"]),
		col("Global-Default", "boolean", doc["globalDefault"]),
		ageColumn(),
		// Upstream registers this column at priority 0 but only fills it
		// for wide output, which the server always requests.
		col("PreemptionPolicy", "string", doc["preemptionPolicy"]),
	}
	return typed(cols, func(pc *schedulingv1.PriorityClass, now time.Time) ([]interface{}, error) {
		policy := ""
		if pc.PreemptionPolicy != nil {
			policy = string(*pc.PreemptionPolicy)
		}
		return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), policy}, nil
	})
}

// rbacFor returns printers for rbac.authorization.k8s.io. Role and
// ClusterRole have none upstream and fall back to Default.
func rbacFor(kind string) *Printer {
	switch kind {
	case "RoleBinding":
		return bindingPrinter("roleBinding", rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"], func(b *rbacv1.RoleBinding) (metav1.ObjectMeta, rbacv1.RoleRef, []rbacv1.Subject) {
			return b.ObjectMeta, b.RoleRef, b.Subjects
		})
	case "ClusterRoleBinding":
		return bindingPrinter("clusterRoleBinding", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"], func(b *rbacv1.ClusterRoleBinding) (metav1.ObjectMeta, rbacv1.RoleRef, []rbacv1.Subject) {
			return b.ObjectMeta, b.RoleRef, b.Subjects
		})
	}
	return nil
}

// bindingPrinter prints (Cluster)RoleBindings: NAME ROLE AGE | USERS
// GROUPS SERVICEACCOUNTS. what names the kind in column descriptions.
func bindingPrinter[E any, T interface {
	*E
	runtime.Object
}](what, roleDoc string, parts func(T) (metav1.ObjectMeta, rbacv1.RoleRef, []rbacv1.Subject)) *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Role", "string", roleDoc),
		ageColumn(),
		wide(col("Users", "string", "Users in the "+what)),
		wide(col("Groups", "string", "Groups in the "+what)),
		wide(col("ServiceAccounts", "string", "ServiceAccounts in the "+what)),
	}
	return typed(cols, func(b T, now time.Time) ([]interface{}, error) {
		meta, ref, subjects := parts(b)
		users, groups, sas := []string{}, []string{}, []string{}
		for _, s := range subjects {
			switch s.Kind {
			case rbacv1.ServiceAccountKind:
				sas = append(sas, s.Namespace+"/"+s.Name)
			case rbacv1.UserKind:
				users = append(users, s.Name)
			case rbacv1.GroupKind:
				groups = append(groups, s.Name)
			}
		}
		return []interface{}{
			meta.Name, ref.Kind + "/" + ref.Name, age(meta.CreationTimestamp, now),
			strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
		}, nil
	})
}

func runtimeClassPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		// Upstream looks "handler" up in ObjectMeta's docs, so the
		// description is empty; kept identical.
		col("Handler", "string", metav1.ObjectMeta{}.SwaggerDoc()["handler"]),
		ageColumn(),
	}
	return typed(cols, func(rc *nodev1.RuntimeClass, now time.Time) ([]interface{}, error) {
		return []interface{}{rc.Name, rc.Handler, age(rc.CreationTimestamp, now)}, nil
	})
}

// admissionFor returns printers for admissionregistration.k8s.io webhook
// configurations.
func admissionFor(kind string) *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
		ageColumn(),
	}
	switch kind {
	case "MutatingWebhookConfiguration":
		return typed(cols, func(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) ([]interface{}, error) {
			return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}, nil
		})
	case "ValidatingWebhookConfiguration":
		return typed(cols, func(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) ([]interface{}, error) {
			return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}, nil
		})
	}
	return nil
}

func csrPrinter() *Printer {
	spec := certificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		ageColumn(),
		col("SignerName", "string", spec["signerName"]),
		col("Requestor", "string", spec["request"]),
		col("RequestedDuration", "string", spec["expirationSeconds"]),
		col("Condition", "string", certificatesv1beta1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
	}
	return typed(cols, func(csr *certificatesv1.CertificateSigningRequest, now time.Time) ([]interface{}, error) {
		requested := none
		if csr.Spec.ExpirationSeconds != nil {
			requested = duration.HumanDuration(time.Duration(*csr.Spec.ExpirationSeconds) * time.Second)
		}
		return []interface{}{csr.Name, age(csr.CreationTimestamp, now), orNone(csr.Spec.SignerName), csr.Spec.Username, requested, csrCondition(csr)}, nil
	})
}

// csrCondition summarises a CSR as Denied|Approved|Pending, plus ",Failed"
// and ",Issued" when they apply.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	if denied {
		status = "Denied"
	} else if approved {
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}
