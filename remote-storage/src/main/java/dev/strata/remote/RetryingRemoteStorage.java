package dev.strata.remote;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries the {@link RemoteStorageException.Kind#TRANSIENT} failures of another
 * {@link RemoteStorage} with exponential backoff and full jitter (sleep a random time up to
 * {@code min(maxDelay, initialDelay * 2^attempt)}), at most {@code attempts} tries; the last
 * failure is thrown with the number of tries in its message. Other failures are thrown at once.
 * Every operation here is idempotent (whole-object put, get, list, delete), so a retry after
 * an error whose effect is unknown (a connection cut after the server stored the object) is
 * safe. The SDK's own retries are off ({@link S3RemoteStorage}): this is the one retry policy.
 */
public final class RetryingRemoteStorage implements RemoteStorage {

    private static final Logger log = LoggerFactory.getLogger(RetryingRemoteStorage.class);

    /** Tries and delays of a retrying storage. */
    public record Policy(int attempts, Duration initialDelay, Duration maxDelay) {
        /** 6 tries over at most ~10 s: long enough for a 503 SlowDown, short enough for an outage to show. */
        public static final Policy DEFAULTS = new Policy(6, Duration.ofMillis(100), Duration.ofSeconds(5));

        public Policy {
            if (attempts < 1) {
                throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
            }
            if (initialDelay.isNegative() || maxDelay.compareTo(initialDelay) < 0) {
                throw new IllegalArgumentException("delays must be 0 <= initial <= max, got " + initialDelay + ", " + maxDelay);
            }
        }
    }

    private final RemoteStorage inner;
    private final Policy policy;

    public RetryingRemoteStorage(RemoteStorage inner, Policy policy) {
        this.inner = inner;
        this.policy = policy;
    }

    @Override
    public void upload(String key, Path file, int crc32c) {
        run("upload " + key, () -> {
            inner.upload(key, file, crc32c);
            return null;
        });
    }

    @Override
    public void put(String key, byte[] bytes) {
        run("put " + key, () -> {
            inner.put(key, bytes);
            return null;
        });
    }

    @Override
    public byte[] get(String key) {
        return run("get " + key, () -> inner.get(key));
    }

    @Override
    public void download(String key, Path target) {
        run("download " + key, () -> {
            inner.download(key, target);
            return null;
        });
    }

    @Override
    public List<RemoteObject> list(String prefix) {
        return run("list " + prefix, () -> inner.list(prefix));
    }

    @Override
    public void delete(String key) {
        run("delete " + key, () -> {
            inner.delete(key);
            return null;
        });
    }

    @Override
    public void close() {
        inner.close();
    }

    private <T> T run(String what, Supplier<T> call) {
        long delay = policy.initialDelay().toMillis();
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (RemoteStorageException e) {
                if (!e.isTransient()) {
                    throw e;
                }
                if (attempt >= policy.attempts()) {
                    throw new RemoteStorageException(RemoteStorageException.Kind.TRANSIENT, what + " failed after "
                            + attempt + " tries: " + e.getMessage(), e);
                }
                long sleep = delay <= 0 ? 0 : ThreadLocalRandom.current().nextLong(delay + 1);
                log.info("remote storage: {} failed (try {} of {}), retrying in {} ms: {}", what, attempt,
                        policy.attempts(), sleep, e.getMessage());
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new RemoteStorageException(RemoteStorageException.Kind.TRANSIENT, what + " interrupted while "
                            + "waiting to retry: " + e.getMessage(), e);
                }
                delay = Math.min(policy.maxDelay().toMillis(), Math.max(1, delay) * 2);
            }
        }
    }
}
