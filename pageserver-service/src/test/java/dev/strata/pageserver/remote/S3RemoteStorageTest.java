package dev.strata.pageserver.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The S3 implementation against a real S3-compatible server (S3Proxy, filesystem store) on loopback. */
class S3RemoteStorageTest {

    @TempDir
    Path tmp;
    EmbeddedS3 s3;
    S3RemoteStorage storage;

    @BeforeEach
    void start() throws Exception {
        s3 = EmbeddedS3.start(tmp.resolve("s3"));
        storage = new S3RemoteStorage(s3.config("test/"));
    }

    @AfterEach
    void stop() throws Exception {
        if (storage != null) {
            storage.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void putGetListDownloadDelete() throws Exception {
        byte[] small = "index".getBytes(StandardCharsets.UTF_8);
        storage.put("a/index_part.json-00000001", small);
        byte[] big = new byte[3 << 20];
        new Random(7).nextBytes(big);
        Path file = tmp.resolve("layer");
        Files.write(file, big);
        storage.upload("a/layer-00000001", file, Checksums.crc32c(big));
        storage.put("b/other", small);

        assertThat(storage.get("a/index_part.json-00000001")).isEqualTo(small);
        assertThat(storage.list("a/")).extracting(RemoteStorage.RemoteObject::key)
                .containsExactly("a/index_part.json-00000001", "a/layer-00000001");
        assertThat(storage.list("a/layer")).singleElement().extracting(RemoteStorage.RemoteObject::size)
                .isEqualTo((long) big.length);
        Path down = tmp.resolve("down");
        Files.writeString(down, "old content is replaced");
        storage.download("a/layer-00000001", down);
        assertThat(Files.readAllBytes(down)).isEqualTo(big);

        // The prefix is applied: another prefix sees nothing of ours.
        try (S3RemoteStorage other = new S3RemoteStorage(s3.config("elsewhere/"))) {
            assertThat(other.list("a/")).isEmpty();
        }

        storage.delete("a/layer-00000001");
        storage.delete("a/layer-00000001"); // absent: not an error
        assertThat(storage.list("a/")).extracting(RemoteStorage.RemoteObject::key)
                .containsExactly("a/index_part.json-00000001");
        assertThatThrownBy(() -> storage.get("a/layer-00000001")).isInstanceOfSatisfying(RemoteStorageException.class,
                e -> assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.NOT_FOUND));
        assertThatThrownBy(() -> storage.download("nothing", tmp.resolve("x"))).isInstanceOfSatisfying(
                RemoteStorageException.class, e -> assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.NOT_FOUND));
    }

    @Test
    void aChecksumThatDoesNotMatchTheBodyIsRefused() throws Exception {
        Path file = tmp.resolve("layer");
        Files.write(file, new byte[] {1, 2, 3, 4});
        int wrong = Checksums.crc32c(new byte[] {1, 2, 3, 5});
        assertThatThrownBy(() -> storage.upload("bad", file, wrong)).isInstanceOfSatisfying(RemoteStorageException.class,
                e -> assertThat(e.kind()).isNotEqualTo(RemoteStorageException.Kind.NOT_FOUND));
        assertThat(storage.list("bad")).isEmpty();
    }

    @Test
    void wrongCredentialsArePermanentAndNamed() throws Exception {
        S3Config c = s3.config();
        try (S3RemoteStorage bad = new S3RemoteStorage(new S3Config(c.endpoint(), c.region(), c.bucket(), "", "nobody",
                "wrong", c.requestTimeout()))) {
            assertThatThrownBy(() -> bad.list("")).isInstanceOfSatisfying(RemoteStorageException.class, e -> {
                assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.PERMANENT);
                assertThat(e.getMessage()).contains("s3://strata/").contains("HTTP 403");
            });
        }
    }

    @Test
    void anOutageIsTransientAndRetriesCarryAcrossIt() throws Exception {
        storage.put("k", new byte[] {1});
        s3.stop();
        assertThatThrownBy(() -> storage.get("k")).isInstanceOfSatisfying(RemoteStorageException.class,
                e -> assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.TRANSIENT));

        // With retries: the server comes back during the backoff and the call succeeds.
        RetryingRemoteStorage retrying = new RetryingRemoteStorage(storage,
                new RetryingRemoteStorage.Policy(50, Duration.ofMillis(50), Duration.ofMillis(400)));
        Thread restarter = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(500);
                s3.start();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertThat(retrying.get("k")).containsExactly(1);
        restarter.join(30_000);
    }

    @Test
    void retriesGiveUpAfterTheirAttemptsAndNeverRetryPermanentErrors() {
        FaultyRemoteStorage faulty = new FaultyRemoteStorage(storage);
        RetryingRemoteStorage retrying = new RetryingRemoteStorage(faulty,
                new RetryingRemoteStorage.Policy(4, Duration.ofMillis(1), Duration.ofMillis(5)));
        retrying.put("k", new byte[] {9});

        faulty.failNext(3);
        faulty.calls.set(0);
        assertThat(retrying.get("k")).containsExactly(9);
        assertThat(faulty.calls.get()).isEqualTo(4);

        faulty.failNext(4);
        faulty.calls.set(0);
        assertThatThrownBy(() -> retrying.get("k")).isInstanceOfSatisfying(RemoteStorageException.class, e -> {
            assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.TRANSIENT);
            assertThat(e.getMessage()).contains("after 4 tries");
        });
        assertThat(faulty.calls.get()).isEqualTo(4);

        faulty.calls.set(0);
        assertThatThrownBy(() -> retrying.get("missing")).isInstanceOfSatisfying(RemoteStorageException.class,
                e -> assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.NOT_FOUND));
        assertThat(faulty.calls.get()).isEqualTo(1);
    }
}
