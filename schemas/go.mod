module github.com/pave-platform/pave/schemas

go 1.26.8
