package dev.strata.pgcore.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.testing.lossyfs.LossyFileSystem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashSafeTest {

    @Test
    void replacesContentAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("control");
        CrashSafe.writeAtomically(f, "one".getBytes(StandardCharsets.UTF_8));
        CrashSafe.writeAtomically(f, "two".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(f)).isEqualTo("two");
        try (var list = Files.list(dir)) {
            assertThat(list.map(p -> p.getFileName().toString())).containsExactly("control");
        }
    }

    @Test
    void aLeftoverFromACrashIsRemovedAndTheOldContentStands(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("control");
        CrashSafe.writeAtomically(f, "old".getBytes(StandardCharsets.UTF_8));
        // A crash between writing the temporary file and the rename leaves this behind.
        Files.writeString(dir.resolve("control.strata-tmp"), "half-writ");
        assertThat(CrashSafe.removeLeftover(f)).isTrue();
        assertThat(Files.readString(f)).isEqualTo("old");
        assertThat(CrashSafe.removeLeftover(f)).isFalse();
    }

    @Test
    void aSecretIsCreatedWithItsPermissionsEvenOverAWorldReadableLeftover(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("secret.properties");
        Files.writeString(dir.resolve("secret.properties.strata-tmp"), "left by a crash");
        Files.setPosixFilePermissions(dir.resolve("secret.properties.strata-tmp"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        CrashSafe.writeAtomically(f, "password=x".getBytes(StandardCharsets.UTF_8),
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                .isEqualTo("rw-------");
        assertThat(Files.readString(f)).isEqualTo("password=x");
        assertThat(dir.resolve("secret.properties.strata-tmp")).doesNotExist();
    }

    @Test
    void directoriesCreatedDurablySurviveAPowerCutAndPlainOnesDoNot(@TempDir Path dir) throws Exception {
        LossyFileSystem disk = LossyFileSystem.open(dir.resolve("disk"));
        CrashSafe.createDirectoriesDurably(disk.getPath("/data/timelines/t1/wal"));
        Files.createDirectories(disk.getPath("/data/timelines/t2/wal"));
        CrashSafe.writeAtomically(disk.getPath("/data/timelines/t2/control"), new byte[] {1});
        disk.powerCut();
        LossyFileSystem after = LossyFileSystem.open(dir.resolve("disk"));
        assertThat(Files.isDirectory(after.getPath("/data/timelines/t1/wal"))).isTrue();
        // t2's own entry was never fsynced in timelines/: the file inside it goes with it.
        assertThat(Files.exists(after.getPath("/data/timelines/t2"))).isFalse();
    }
}
