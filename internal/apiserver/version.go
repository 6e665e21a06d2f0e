package apiserver

import (
	"encoding/json"
	"net/http"
	"runtime"

	"k8s.io/apimachinery/pkg/version"
)

func (s *Server) serveVersion(w http.ResponseWriter, _ *http.Request) {
	info := version.Info{
		Major: "1", Minor: "37", GitVersion: s.cfg.Version, GitTreeState: "clean",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}
