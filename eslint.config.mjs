// eslint for the course's JavaScript: the browser code in cnnbp/web/*.js
// (plain ES2017 scripts that run inline in a notebook output or a book
// page), the book's page script book/_css/*.js, and the Node.js tools in
// tools/*.cjs.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["cnnbp/web/**/*.js", "book/_css/**/*.js"],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: "script",
      globals: { ...globals.browser, MathJax: "readonly" },
    },
    rules: {
      eqeqeq: "error",
      "no-implicit-globals": "error",
      strict: ["error", "function"],
    },
  },
  {
    files: ["tools/**/*.cjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "commonjs",
      globals: { ...globals.node },
    },
    rules: { eqeqeq: "error", strict: ["error", "global"] },
  },
];
