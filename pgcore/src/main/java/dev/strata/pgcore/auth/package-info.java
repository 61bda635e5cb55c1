/**
 * Service tokens: who may call which internal listener (docs/architecture.md §8).
 *
 * <p>One Ed25519 key pair per cluster signs JWTs ({@link TokenIssuer}); every listener holds
 * only the public keys and checks each caller's token and its {@link Scope}
 * ({@link TokenVerifier}). Keys and tokens live in 0600 files ({@link AuthKeys}) and reach
 * components through their configuration, never a command line. The JOSE work is Nimbus's,
 * with Tink's Ed25519; nothing here is hand-written cryptography.
 */
package dev.strata.pgcore.auth;
