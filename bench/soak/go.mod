module github.com/pave-platform/pave/bench/soak

go 1.26.8
