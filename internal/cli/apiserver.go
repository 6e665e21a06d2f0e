package cli

import (
	"github.com/spf13/cobra"
)

func newAPIServerCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "apiserver",
		Short: "Run the API server alone, against embedded or external etcd (--etcd-servers)",
		Long: "Run only the API server. With --etcd-servers several API servers can share one etcd cluster;\n" +
			"give them the same --data-dir (or copy its pki/ folder) so they share the CA and admin credentials.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runControlPlane(cmd, f.config(cmd))
		},
	}
	f.bind(cmd)
	return cmd
}
