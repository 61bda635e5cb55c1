package dev.strata.remote;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A FAKE, only to inject faults: passes every call to a real {@link RemoteStorage} except that
 * the next {@link #failNext} calls throw a transient error first (as a 503 SlowDown or a cut
 * connection would), and {@link #failAlways} makes every call fail until cleared. Counts calls.
 */
public final class FaultyRemoteStorage implements RemoteStorage {

    private final RemoteStorage real;
    private final AtomicInteger failures = new AtomicInteger();
    private volatile boolean always;
    public final AtomicInteger calls = new AtomicInteger();
    public final AtomicInteger injected = new AtomicInteger();

    public FaultyRemoteStorage(RemoteStorage real) {
        this.real = real;
    }

    public void failNext(int n) {
        failures.set(n);
    }

    public void failAlways(boolean on) {
        always = on;
    }

    private void maybeFail(String what) {
        calls.incrementAndGet();
        if (always || failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            injected.incrementAndGet();
            throw new RemoteStorageException(RemoteStorageException.Kind.TRANSIENT, "injected fault: " + what
                    + ": HTTP 503 SlowDown");
        }
    }

    @Override
    public void upload(String key, Path file, int crc32c) {
        maybeFail("upload " + key);
        real.upload(key, file, crc32c);
    }

    @Override
    public void put(String key, byte[] bytes) {
        maybeFail("put " + key);
        real.put(key, bytes);
    }

    @Override
    public byte[] get(String key) {
        maybeFail("get " + key);
        return real.get(key);
    }

    @Override
    public void download(String key, Path target) {
        maybeFail("download " + key);
        real.download(key, target);
    }

    @Override
    public List<RemoteObject> list(String prefix) {
        maybeFail("list " + prefix);
        return real.list(prefix);
    }

    @Override
    public void delete(String key) {
        maybeFail("delete " + key);
        real.delete(key);
    }

    @Override
    public void close() {
        real.close();
    }
}
