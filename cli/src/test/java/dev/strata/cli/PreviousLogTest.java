package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.cli.local.ClusterLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `up` keeps the log of the run before (a crashed run's log must survive the restart after it). */
class PreviousLogTest {

    @TempDir
    Path dir;

    @Test
    void theLastRunsLogMovesToStrataLog1AndANewOwnerOnlyLogStarts() throws Exception {
        ClusterLayout layout = new ClusterLayout(dir);
        Files.writeString(layout.previousLogFile(), "two runs ago\n");
        Files.writeString(layout.logFile(), "the run that crashed\n");

        StrataCli.keepPreviousLog(layout);

        assertThat(layout.previousLogFile()).hasContent("the run that crashed");
        assertThat(layout.logFile()).isEmptyFile();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(layout.logFile()))).isEqualTo("rw-------");
    }

    @Test
    void anEmptyOrMissingLogLeavesThePreviousOneAlone() throws Exception {
        ClusterLayout layout = new ClusterLayout(dir);
        Files.writeString(layout.previousLogFile(), "the last run with a log\n");
        StrataCli.keepPreviousLog(layout); // no strata.log at all
        Files.createFile(layout.logFile());
        StrataCli.keepPreviousLog(layout); // an empty one
        assertThat(layout.previousLogFile()).hasContent("the last run with a log");
        assertThat(layout.logFile()).isEmptyFile();
    }
}
