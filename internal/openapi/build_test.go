package openapi

import (
	"testing"
)

func BenchmarkBuild(b *testing.B) {
	resources := testResources()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(resources, Info{Title: "Kubernetes", Version: "v1.37.2"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2Protobuf(b *testing.B) {
	resources := testResources()
	b.ReportAllocs()
	for b.Loop() {
		s, err := Build(resources, Info{Title: "Kubernetes", Version: "v1.37.2"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.v2Protobuf(); err != nil {
			b.Fatal(err)
		}
	}
}
