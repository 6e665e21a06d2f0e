package kubectltest

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestPath checks that the kubectl tests would use runs and reports a
// client version.
func TestPath(t *testing.T) {
	bin, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version", "--client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	var v struct {
		ClientVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.ClientVersion.GitVersion == "" {
		t.Fatalf("%s version printed %q (%v)", bin, out, err)
	}
	t.Logf("kubectl %s at %s", v.ClientVersion.GitVersion, bin)
}
