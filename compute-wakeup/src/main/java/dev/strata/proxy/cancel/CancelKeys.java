package dev.strata.proxy.cancel;

import dev.strata.pgcore.protocol.BackendMessage.BackendKeyData;
import dev.strata.proxy.wake.ComputeAddress;

import java.security.SecureRandom;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BackendKeyData the proxy gives each relayed session, mapped to the compute and the key
 * the compute gave. The process id is the compute's own (so a driver's backend pid equals
 * {@code pg_backend_pid()}, which PostgreSQL's isolation tester and applications matching
 * {@code pg_stat_activity} or {@code pg_locks} rely on); only the secret key is the proxy's,
 * drawn from SecureRandom. A CancelRequest is routed by the pair (pid, proxy secret) and sent
 * on to that compute with the compute's real secret, which never leaves the proxy.
 * An unknown pair, such as the right pid with a guessed secret, is ignored as PostgreSQL does.
 *
 * <p>Two computes may hand out the same pid; the pair stays unique because a secret that
 * would collide with a registered pair is drawn again.
 */
public final class CancelKeys {

    /** Where a proxy key's CancelRequest goes. */
    public record Target(ComputeAddress compute, BackendKeyData computeKey) {
        public Target {
            Objects.requireNonNull(compute, "compute is null");
            Objects.requireNonNull(computeKey, "computeKey is null");
        }
    }

    private final SecureRandom random = new SecureRandom();
    private final ConcurrentHashMap<Long, Target> targets = new ConcurrentHashMap<>();

    /**
     * The key the client sees for {@code target}: the compute's pid with a fresh proxy secret;
     * {@link #remove} it when the session ends.
     */
    public BackendKeyData register(Target target) {
        int pid = target.computeKey().processId();
        while (true) {
            BackendKeyData key = new BackendKeyData(pid, random.nextInt());
            if (targets.putIfAbsent(pack(key), target) == null) {
                return key;
            }
        }
    }

    public Optional<Target> find(int processId, int secretKey) {
        return Optional.ofNullable(targets.get(pack(processId, secretKey)));
    }

    public void remove(BackendKeyData key) {
        targets.remove(pack(key));
    }

    public int size() {
        return targets.size();
    }

    private static long pack(BackendKeyData key) {
        return pack(key.processId(), key.secretKey());
    }

    private static long pack(int processId, int secretKey) {
        return ((long) processId << 32) | (secretKey & 0xffff_ffffL);
    }
}
