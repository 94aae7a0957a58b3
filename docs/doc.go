// Package docs holds the project's documents. It has no code: its tests run the commands
// the operations runbook shows against a real stack, so that the runbook cannot drift from
// the product.
package docs
