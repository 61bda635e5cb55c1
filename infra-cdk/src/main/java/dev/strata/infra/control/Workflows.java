package dev.strata.infra.control;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.lambda.Alias;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.amazon.awscdk.services.stepfunctions.DefinitionBody;
import software.amazon.awscdk.services.stepfunctions.LogLevel;
import software.amazon.awscdk.services.stepfunctions.LogOptions;
import software.amazon.awscdk.services.stepfunctions.StateMachine;
import software.amazon.awscdk.services.stepfunctions.StateMachineType;
import software.constructs.Construct;

/**
 * The Step Functions state machines, from the very files in {@code state-machines/} (read from the
 * checkout, not copied): the definition goes into the template unchanged, and its three placeholders
 * become Step Functions definition substitutions: {@code ${Region}} and {@code ${Account}} the stack's,
 * {@code ${Alias}} the alias {@link ControlPlaneFunctions#ALIAS} every function's deployment points at
 * its new published version (docs/control-plane.md, "Workflows"). Tasks thus run the published,
 * SnapStart-enabled version, never {@code $LATEST}. Each state machine may invoke exactly the aliases
 * of the functions its task ARNs name (not the functions' other versions or {@code $LATEST}).
 */
public final class Workflows extends Construct {

    /** The definitions' directory, relative to the repository root. */
    public static final String DEFINITIONS = "state-machines/src/main/resources/dev/strata/statemachines";

    /** A state machine: its name on AWS and its definition file. */
    public record Definition(String name, String file) {
    }

    public static final List<Definition> ALL = List.of(
            new Definition("wake", "wake.asl.json"),
            new Definition("suspend", "suspend.asl.json"),
            new Definition("create-project", "create-project.asl.json"),
            new Definition("create-branch", "create-branch.asl.json"),
            new Definition("delete-branch", "delete-branch.asl.json"),
            new Definition("restore", "restore.asl.json"));

    private static final Pattern TASK_FUNCTION =
            Pattern.compile("arn:aws:lambda:\\$\\{Region}:\\$\\{Account}:function:([a-z0-9-]+):\\$\\{Alias}\"");
    /** Any Lambda ARN in a definition, whatever follows the function name. */
    private static final Pattern ANY_FUNCTION =
            Pattern.compile("arn:aws:lambda:[^\"]*:function:[a-z0-9-]+(:[^\"]*)?\"");
    private static final Set<String> SUBSTITUTED = Set.of("Region", "Account", "Alias");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z]+)}");

    private final Map<String, StateMachine> machines = new LinkedHashMap<>();

    public Workflows(Construct scope, String id, Path repoRoot, ControlPlaneFunctions functions, String envName) {
        super(scope, id);
        Stack stack = Stack.of(this);
        for (Definition d : ALL) {
            String text = read(repoRoot, d.file());
            Set<String> placeholders = new LinkedHashSet<>();
            Matcher pm = PLACEHOLDER.matcher(text);
            while (pm.find()) {
                placeholders.add(pm.group(1));
            }
            if (!SUBSTITUTED.containsAll(placeholders)) {
                throw new IllegalStateException(d.file() + " uses placeholders " + placeholders
                        + "; this app substitutes only " + SUBSTITUTED);
            }
            String cid = ControlPlaneFunctions.constructId(d.name());
            LogGroup logs = LogGroup.Builder.create(this, cid + "Logs")
                    .logGroupName("/aws/vendedlogs/states/strata-" + envName + "-" + d.name())
                    .retention(RetentionDays.ONE_MONTH)
                    .removalPolicy(RemovalPolicy.DESTROY)
                    .build();
            StateMachine sm = StateMachine.Builder.create(this, cid)
                    .stateMachineName("strata-" + envName + "-" + d.name())
                    .stateMachineType(StateMachineType.STANDARD)
                    .definitionBody(DefinitionBody.fromString(text))
                    .definitionSubstitutions(Map.of("Region", stack.getRegion(), "Account", stack.getAccount(),
                            "Alias", ControlPlaneFunctions.ALIAS))
                    .logs(LogOptions.builder().destination(logs).level(LogLevel.ALL).includeExecutionData(true).build())
                    .tracingEnabled(true)
                    .build();
            Matcher any = ANY_FUNCTION.matcher(text);
            while (any.find()) {
                if (!TASK_FUNCTION.matcher(any.group()).matches()) {
                    throw new IllegalStateException(d.file() + " calls " + any.group() + "; a task must call"
                            + " arn:aws:lambda:${Region}:${Account}:function:<name>:${Alias} (an unqualified ARN runs"
                            + " $LATEST, without SnapStart)");
                }
            }
            Set<String> called = taskFunctions(text);
            for (String fn : called) {
                Alias alias = functions.aliases().get(fn);
                if (alias == null) {
                    throw new IllegalStateException(d.file() + " calls " + fn + ", which this app does not deploy"
                            + " (add it to " + Handlers.class.getName() + ")");
                }
                // The alias ARN only: lambda:InvokeFunction on what the tasks call, nothing else of the function.
                alias.grantInvoke(sm);
            }
            machines.put(d.name(), sm);
        }
    }

    /** The state machines by workflow name (wake, suspend, create-project). */
    public Map<String, StateMachine> machines() {
        return machines;
    }

    /** The function names a definition's Task states call by their alias-qualified ARN. */
    public static Set<String> taskFunctions(String definition) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = TASK_FUNCTION.matcher(definition);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** A definition file as committed. */
    public static String read(Path repoRoot, String file) {
        Path p = repoRoot.resolve(DEFINITIONS).resolve(file);
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the state machine definition " + p, e);
        }
    }
}
