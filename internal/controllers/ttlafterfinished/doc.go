// Package ttlafterfinished is the ttl-after-finished controller: it
// deletes a finished Job (Complete or Failed) spec.ttlSecondsAfterFinished
// seconds after it finished, with background propagation so that the
// garbage collector removes its pods, as upstream's
// pkg/controller/ttlafterfinished.
package ttlafterfinished
