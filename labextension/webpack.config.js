// The worker is a self-contained ES module built ahead of time with esbuild
// (`build:worker`); copy it as a plain file instead of bundling it again, the
// way @jupyterlite/pyodide-kernel-extension ships its workers.
module.exports = {
  module: {
    rules: [
      {
        test: /\.worker\.js$/,
        type: 'asset/resource',
        generator: { filename: '[name].[contenthash][ext]' },
      },
    ],
  },
};
