// Command healthcheck is a static HTTP probe for images without a shell:
//
//	healthcheck [url]
//
// It exits 0 when GET url answers 2xx within the timeout, 1 otherwise. The
// default url is http://127.0.0.1:8080/readyz; the timeout is 3s, or
// HEALTHCHECK_TIMEOUT (a Go duration).
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

const defaultURL = "http://127.0.0.1:8080/readyz"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	url := defaultURL
	if len(args) > 0 {
		url = args[0]
	}
	timeout := 3 * time.Second
	if s := os.Getenv("HEALTHCHECK_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "healthcheck: HEALTHCHECK_TIMEOUT: %q is not a positive duration\n", s)
			return 2
		}
		timeout = d
	}
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(os.Stderr, "healthcheck: %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
