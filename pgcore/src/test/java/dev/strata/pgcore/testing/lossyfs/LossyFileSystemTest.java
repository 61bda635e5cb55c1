package dev.strata.pgcore.testing.lossyfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.fs.CrashSafe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What survives a power cut of the lossy file system, operation by operation. */
class LossyFileSystemTest {

    @TempDir
    Path tmp;

    private static FileChannel open(Path p) throws IOException {
        return FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private static void write(FileChannel ch, String s, long pos) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.US_ASCII);
    }

    private LossyFileSystem reopen(LossyFileSystem fs) throws IOException {
        fs.powerCut();
        return LossyFileSystem.open(fs.backingDirectory());
    }

    @Test
    void unforcedWritesAreVisibleUntilThePowerCutAndThenLost() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Path f = fs.getPath("/f");
        try (FileChannel ch = open(f)) {
            CrashSafe.fsyncDirectory(fs.getPath("/"));
            write(ch, "durable", 0);
            ch.force(false);
            write(ch, " and lost", 7);
            write(ch, "D", 0);
            assertThat(read(f)).isEqualTo("Durable and lost");
            assertThat(Files.size(f)).isEqualTo(16);
            assertThat(Files.size(fs.backingDirectory().resolve("f"))).as("backing file: forced bytes only").isEqualTo(7);
        }
        assertThat(fs.powerCut()).isEqualTo(new LossyFileSystem.Lost(1, 1, 0));
        LossyFileSystem after = LossyFileSystem.open(fs.backingDirectory());
        assertThat(read(after.getPath("/f"))).isEqualTo("durable");
    }

    @Test
    void anUnforcedTruncateIsLostAndAForcedOneIsKept() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Path f = fs.getPath("/f");
        try (FileChannel ch = open(f)) {
            CrashSafe.fsyncDirectory(fs.getPath("/"));
            write(ch, "0123456789", 0);
            ch.force(false);
            ch.truncate(4);
            write(ch, "ab", 6);
            assertThat(read(f)).isEqualTo("0123\0\0ab");
        }
        LossyFileSystem after = reopen(fs);
        Path g = after.getPath("/f");
        assertThat(read(g)).isEqualTo("0123456789");
        try (FileChannel ch = open(g)) {
            ch.truncate(4);
            write(ch, "ab", 6);
            ch.force(false);
        }
        assertThat(read(reopen(after).getPath("/f"))).isEqualTo("0123\0\0ab");
    }

    @Test
    void aNewFileWhoseDirectoryWasNotForcedDisappearsEvenWithForcedData() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Files.createDirectories(fs.getPath("/a/b"));
        try (FileChannel ch = open(fs.getPath("/a/b/f"))) {
            write(ch, "x", 0);
            ch.force(true);
        }
        CrashSafe.fsyncDirectory(fs.getPath("/a/b")); // f is durable in b, but b is not durable in a
        CrashSafe.fsyncDirectory(fs.getPath("/"));    // a is durable in /
        LossyFileSystem after = reopen(fs);
        assertThat(Files.isDirectory(after.getPath("/a"))).isTrue();
        assertThat(Files.exists(after.getPath("/a/b"))).isFalse();
    }

    @Test
    void renamesAndDeletesAreUndoneUnlessTheirDirectoryWasForced() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Path dir = fs.getPath("/d");
        Files.createDirectory(dir);
        for (String name : List.of("old", "target", "gone")) {
            try (FileChannel ch = open(dir.resolve(name))) {
                write(ch, name, 0);
                ch.force(false);
            }
        }
        CrashSafe.fsyncDirectory(dir);
        CrashSafe.fsyncDirectory(fs.getPath("/"));
        assertThat(fs.pendingNames()).isZero();

        Files.move(dir.resolve("old"), dir.resolve("target"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.delete(dir.resolve("gone"));
        assertThat(names(dir)).containsExactly("target");
        assertThat(read(dir.resolve("target"))).isEqualTo("old");

        LossyFileSystem after = reopen(fs);
        Path d = after.getPath("/d");
        assertThat(names(d)).containsExactlyInAnyOrder("old", "target", "gone");
        assertThat(read(d.resolve("target"))).isEqualTo("target");

        Files.move(d.resolve("old"), d.resolve("target"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.delete(d.resolve("gone"));
        CrashSafe.fsyncDirectory(d);
        Path d2 = reopen(after).getPath("/d");
        assertThat(names(d2)).containsExactly("target");
        assertThat(read(d2.resolve("target"))).isEqualTo("old");
    }

    @Test
    void anAtomicReplaceSurvivesAsAWhole() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Path f = fs.getPath("/state");
        CrashSafe.writeAtomically(f, "one".getBytes(StandardCharsets.US_ASCII));
        CrashSafe.writeAtomically(f, "two".getBytes(StandardCharsets.US_ASCII));
        LossyFileSystem after = reopen(fs);
        assertThat(names(after.getPath("/"))).containsExactly("state");
        assertThat(read(after.getPath("/state"))).isEqualTo("two");
    }

    @Test
    void everyCallFailsAfterThePowerCut() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        Path f = fs.getPath("/f");
        FileChannel ch = open(f);
        fs.powerCut();
        assertThatThrownBy(() -> write(ch, "late", 0)).isInstanceOf(IOException.class).hasMessageContaining("power");
        assertThatThrownBy(() -> ch.force(true)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> Files.createDirectory(fs.getPath("/x"))).isInstanceOf(IOException.class);
        assertThat(Files.exists(tmp.resolve("disk").resolve("f"))).as("its creation was not durable").isFalse();
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aCutWhileUnforcedWaitsForUnforcedData() throws Exception {
        LossyFileSystem fs = LossyFileSystem.open(tmp.resolve("disk"));
        try (FileChannel ch = open(fs.getPath("/f"))) {
            write(ch, "x", 0);
            ch.force(false);
            assertThatThrownBy(() -> fs.powerCutWhileUnforced(java.time.Duration.ofMillis(50)))
                    .isInstanceOf(IllegalStateException.class);
            write(ch, "y", 1);
            assertThat(fs.powerCutWhileUnforced(java.time.Duration.ofSeconds(5)).pages()).isEqualTo(1);
        }
    }
}
