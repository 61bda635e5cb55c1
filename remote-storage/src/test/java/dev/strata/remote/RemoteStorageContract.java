package dev.strata.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * What every S3-compatible server must do for {@link S3RemoteStorage}: run against S3Proxy
 * ({@link S3RemoteStorageTest}) and moto ({@link MotoS3Test}), so that a dialect difference
 * between them shows up as a failing test rather than in production.
 */
final class RemoteStorageContract {

    private RemoteStorageContract() {
    }

    /** {@code storage} has key prefix "test/", {@code other} (closed here) the same bucket with another prefix. */
    static void putGetListDownloadDelete(RemoteStorage storage, RemoteStorage other, Path tmp) throws Exception {
        byte[] small = "index".getBytes(StandardCharsets.UTF_8);
        storage.put("a/index_part.json-00000001", small);
        byte[] big = new byte[3 << 20];
        new Random(7).nextBytes(big);
        Path file = tmp.resolve("layer");
        Files.write(file, big);
        storage.upload("a/layer-00000001", file, Checksums.crc32c(big));
        storage.put("b/other", small);
        storage.put("a/index_part.json-00000001", "index, replaced".getBytes(StandardCharsets.UTF_8));

        assertThat(new String(storage.get("a/index_part.json-00000001"), StandardCharsets.UTF_8)).isEqualTo("index, replaced");
        assertThat(storage.list("a/")).extracting(RemoteStorage.RemoteObject::key)
                .containsExactly("a/index_part.json-00000001", "a/layer-00000001");
        assertThat(storage.list("a/layer")).singleElement().extracting(RemoteStorage.RemoteObject::size)
                .isEqualTo((long) big.length);
        Path down = tmp.resolve("down");
        Files.writeString(down, "old content is replaced");
        storage.download("a/layer-00000001", down);
        assertThat(Files.readAllBytes(down)).isEqualTo(big);

        // The prefix is applied: another prefix sees nothing of ours.
        try (other) {
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

    /** An upload whose CRC-32C does not match the body: refused (permanent) where the server verifies. */
    static void aChecksumThatDoesNotMatchTheBody(RemoteStorage storage, Path tmp, boolean serverVerifies) throws Exception {
        Path file = tmp.resolve("layer");
        Files.write(file, new byte[] {1, 2, 3, 4});
        int wrong = Checksums.crc32c(new byte[] {1, 2, 3, 5});
        if (serverVerifies) {
            assertThatThrownBy(() -> storage.upload("bad", file, wrong)).isInstanceOfSatisfying(RemoteStorageException.class,
                    e -> assertThat(e.kind()).isEqualTo(RemoteStorageException.Kind.PERMANENT));
            assertThat(storage.list("bad")).isEmpty();
        } else {
            storage.upload("bad", file, wrong);
            assertThat(Checksums.crc32c(storage.get("bad"))).isNotEqualTo(wrong);
        }
    }
}
