//go:build !unix

package main

import "time"

// selfCPU is not measured here: the tool's CPU figures need getrusage (and
// the server's need Linux's /proc).
func selfCPU() time.Duration { return 0 }
