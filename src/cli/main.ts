// The `k8ts` command: parses flags and wires components, nothing else.
import { Command, CommanderError } from 'commander';
import { KUBERNETES_VERSION, K8TS_VERSION } from '../version.js';
import { simNodesCommand } from '../sim/command.js';
import { agentCommand } from './agent.js';
import { controllerManagerCommand, schedulerCommand } from './components.js';
import { proxyCommand } from './proxy.js';
import { serverCommand } from './server.js';

const program = new Command('k8ts')
  .description('Kubernetes re-implemented in TypeScript: driven by the real kubectl, running real pods and networking')
  .version(K8TS_VERSION, '-v, --version', 'print the k8ts version')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(serverCommand())
  .addCommand(agentCommand())
  .addCommand(controllerManagerCommand())
  .addCommand(schedulerCommand())
  .addCommand(proxyCommand())
  .addCommand(simNodesCommand())
  .addCommand(
    new Command('version').description('Print the k8ts version and the Kubernetes API version it implements').action(() => {
      console.log(`k8ts version v${K8TS_VERSION} (Kubernetes API ${KUBERNETES_VERSION.gitVersion}, node ${process.version})`);
    }),
  );

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`k8ts: ${(err as Error).message}`);
  process.exit(1);
}
