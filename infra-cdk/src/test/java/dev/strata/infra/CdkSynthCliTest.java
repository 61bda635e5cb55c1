package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.infra.testing.Synthesized;
import dev.strata.pgcore.tools.NodeTools;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cdk synth} as a user runs it: the pinned CLI (aws-cdk 2.1148.1, from NodeTools) runs the
 * app through this module's {@code cdk.json}, offline, once for the class. Unlike the Template
 * tests (which switch it off for speed) this run keeps CDK's CloudFormation validation on.
 */
class CdkSynthCliTest {

    private static final long TIMEOUT_SECONDS = 100;

    @TempDir
    static Path out;

    private static int exit;
    private static String output;

    @BeforeAll
    static void synth() throws Exception {
        Path module = Synthesized.repoRoot().resolve("infra-cdk");
        assertThat(module.resolve("target/app.classpath")).exists();
        List<String> cmd = new ArrayList<>(NodeTools.get().command("cdk", "synth", "--no-notices",
                "--no-version-reporting", "--quiet", "--output", out.resolve("cdk.out").toString(),
                "-c", "env=cli", "-c", "domainName=" + Synthesized.DOMAIN,
                "-c", "certificateSecretArn=" + Synthesized.CERTIFICATE,
                "-c", "lambdaBundle=" + System.getProperty("strata.lambdaBundle")));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(module.toFile()).redirectErrorStream(true)
                .redirectOutput(out.resolve("cdk.log").toFile());
        String javaBin = Path.of(System.getProperty("java.home"), "bin").toString();
        pb.environment().put("PATH", javaBin + File.pathSeparator + System.getenv("PATH"));
        pb.environment().put("CDK_VALIDATION", "true");
        pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
        pb.environment().put("CDK_DISABLE_CLI_TELEMETRY", "true");
        pb.environment().remove("CDK_DEFAULT_ACCOUNT");
        pb.environment().remove("CDK_DEFAULT_REGION");
        Process p = pb.start();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("cdk synth did not finish in " + TIMEOUT_SECONDS + " s: "
                        + Files.readString(out.resolve("cdk.log")));
            }
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        exit = p.exitValue();
        output = Files.readString(out.resolve("cdk.log"));
    }

    @Test
    void synthSucceeds() {
        assertThat(exit).as(output).isZero();
    }

    @Test
    void assemblyHoldsTheEnvironmentsTemplate() throws Exception {
        JsonNode template = new ObjectMapper().readTree(out.resolve("cdk.out/Strata-cli.template.json").toFile());
        assertThat(template.path("Resources").size()).isGreaterThan(100);
    }

    @Test
    void cloudFormationValidationFindsNothing() {
        assertThat(output).doesNotContain("Template validation found issues");
    }

    @Test
    void cdkNagReportsNoErrors() {
        assertThat(output).doesNotContainPattern("AwsSolutions-[A-Z0-9]+");
    }
}
