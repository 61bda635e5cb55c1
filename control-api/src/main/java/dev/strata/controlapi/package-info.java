/**
 * The control plane's HTTP API (docs/control-plane.md "API"): projects, branches, endpoints and
 * operations. Mutations record an operation in the metadata store and start its workflow through a
 * {@link dev.strata.controlapi.WorkflowLauncher}; callers poll the operation.
 */
package dev.strata.controlapi;
