import type { UserConfig } from 'vitest/config';
export declare function packageTestConfig(overrides?: UserConfig): UserConfig;
export declare const CHROMIUM_PATH: string;
export declare function chromiumLaunchOptions(extraArgs?: string[]): {
  executablePath: string;
  headless: boolean;
  args: string[];
};
