// Fails fast, with a clear message, when npm scripts are not running on the project's Node 24
// (the `node` devDependency puts it first on the PATH; a missing `npm ci` leaves the system Node).
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  console.error(
    `connector-gateway needs Node 24 LTS; this is Node ${process.versions.node}.\n` +
      'Run `npm ci` (it installs Node 24 as a devDependency) and use the npm scripts.',
  );
  process.exit(1);
}
