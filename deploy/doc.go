// Package deploy holds what an operator runs Surge with: the container
// image (Dockerfile), a compose file with every dependency, Kubernetes
// manifests, Prometheus alert rules and a Grafana dashboard. Its test
// keeps them true to the code: they parse, and every metric and setting
// they name is one Surge has.
package deploy
