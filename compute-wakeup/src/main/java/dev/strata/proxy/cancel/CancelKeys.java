package dev.strata.proxy.cancel;

import dev.strata.pgcore.protocol.BackendMessage.BackendKeyData;
import dev.strata.proxy.wake.ComputeAddress;

import java.security.SecureRandom;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The proxy's own BackendKeyData for each relayed session, mapped to the compute and the
 * key the compute gave. Clients only ever see proxy keys: a CancelRequest with one is sent
 * on to the right compute with the real key; an unknown key is ignored, as PostgreSQL does.
 * Keys are random (SecureRandom), so one client cannot guess another's.
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

    /** A fresh proxy key for {@code target}; {@link #remove} it when the session ends. */
    public BackendKeyData register(Target target) {
        while (true) {
            BackendKeyData key = new BackendKeyData(random.nextInt() & 0x7fff_ffff, random.nextInt());
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
