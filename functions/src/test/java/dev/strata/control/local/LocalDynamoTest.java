package dev.strata.control.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Project;
import dev.strata.pgcore.id.ProjectId;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalDynamoTest {

    private static final String TABLE = "strata-metadata";

    @TempDir
    Path dir;

    /** What {@code strata up} relies on: metadata survives a restart of dynalite on the same directory. */
    @Test
    void metadataSurvivesARestartOnTheSameDirectory() {
        Project written;
        long firstPid;
        try (LocalDynamo dynamo = LocalDynamo.start(dir).createTables(TABLE)) {
            firstPid = dynamo.pid();
            written = new MetadataStore(dynamo.client(), TABLE)
                    .createProject(Project.create(ProjectId.random(), "survives", Instant.parse("2026-12-05T10:00:00Z")));
        }
        assertThat(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive)).as("dynalite stopped").isNotEqualTo(
                java.util.Optional.of(true));
        try (LocalDynamo dynamo = LocalDynamo.start(dir).createTables(TABLE)) {
            MetadataStore store = new MetadataStore(dynamo.client(), TABLE);
            assertThat(store.getProject(written.id())).contains(written);
            assertThat(store.listProjects()).containsExactly(written);
        }
    }

    @Test
    void tableCreationIsIdempotentAndTheServerListensOnLoopbackOnly() {
        try (LocalDynamo dynamo = LocalDynamo.start(dir)) {
            dynamo.createTables(TABLE).createTables(TABLE);
            assertThat(dynamo.client().listTables().tableNames()).containsExactly(TABLE);
            assertThat(dynamo.endpoint().getHost()).isEqualTo("127.0.0.1");
            assertThat(dynamo.directory().resolve("db")).isDirectory();
        }
    }

    /** A JVM killed with -9 leaves its dynalite running, holding the LevelDB lock: the next start stops it. */
    @Test
    void aDynaliteLeftByADeadOwnerIsStoppedAtTheNextStart() {
        LocalDynamo orphan = LocalDynamo.start(dir).createTables(TABLE); // never closed by its "owner"
        try {
            Project written = new MetadataStore(orphan.client(), TABLE)
                    .createProject(Project.create(ProjectId.random(), "orphaned", Instant.parse("2026-12-05T10:00:00Z")));
            try (LocalDynamo next = LocalDynamo.start(dir).createTables(TABLE)) {
                assertThat(orphan.isRunning()).as("the old dynalite was stopped").isFalse();
                assertThat(new MetadataStore(next.client(), TABLE).getProject(written.id())).contains(written);
            }
        } finally {
            orphan.close();
        }
    }

    @Test
    void aPidFileNamingAnotherProcessIsLeftAlone() throws Exception {
        java.nio.file.Files.createDirectories(dir.resolve("db"));
        java.nio.file.Files.writeString(dir.resolve(LocalDynamo.PID_FILE), ProcessHandle.current().pid() + "\n");
        try (LocalDynamo dynamo = LocalDynamo.start(dir)) {
            assertThat(dynamo.isRunning()).isTrue();
            assertThat(ProcessHandle.current().isAlive()).isTrue();
        }
    }
}
