package dev.strata.infra.testing;

import dev.strata.infra.StrataApp;
import dev.strata.infra.StrataStack;
import dev.strata.infra.StrataStackProps;
import java.nio.file.Path;
import java.util.Optional;
import software.amazon.awscdk.App;
import software.amazon.awscdk.assertions.Template;

/**
 * The test environment's app, synthesized once per test JVM (a synth costs seconds; every test
 * class reads the same template). Offline: no AWS account, no Docker (image assets are only
 * fingerprinted), no context lookups.
 */
public final class Synthesized {

    public static final String ENV = "test";
    public static final int POOL_SIZE = 4;
    public static final int BURST_MAX = 6;
    public static final String CERTIFICATE =
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:strata/test/wildcard-AbCdEf";
    public static final String DOMAIN = "db.example.com";
    public static final String ZONE = "Z0123456789ABCDEFGHIJ";

    private static Synthesized instance;

    public final App app;
    public final StrataStack stack;
    public final Template template;

    private Synthesized() {
        // Assets are fingerprinted but not copied into the cloud assembly: the template is the same,
        // and copying the checkout once per image would dominate the test's time.
        app = App.Builder.create().context(java.util.Map.of("aws:cdk:disable-asset-staging", true)).build();
        long t0 = System.nanoTime();
        stack = StrataApp.build(app, props());
        long t1 = System.nanoTime();
        template = Template.fromStack(stack);
        System.out.printf("construct %d ms, synth %d ms%n", (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
    }

    public static synchronized Synthesized get() {
        if (instance == null) {
            instance = new Synthesized();
        }
        return instance;
    }

    public static StrataStackProps props() {
        return new StrataStackProps(ENV, 3, POOL_SIZE, BURST_MAX, CERTIFICATE, DOMAIN, Optional.of(ZONE), repoRoot(),
                Path.of(System.getProperty("strata.lambdaBundle", "target/lambda")));
    }

    public static Path repoRoot() {
        return Path.of(System.getProperty("strata.repoRoot", "..")).toAbsolutePath().normalize();
    }
}
