// The most common passwords and their stems, as they appear at the top of the
// public breach corpora (RockYou, the "Have I Been Pwned" top lists, yearly
// "worst passwords" lists), lower-cased. password-policy.ts refuses these
// whole and with digits or symbols appended. Short entries matter too: their
// stretched forms ("dragon123456") pass the length floor.
const LIST = `
password passw0rd p@ssword p@ssw0rd pass password1 qwerty qwertyuiop qwerty123 qwertz azerty asdfgh asdfghjkl
zxcvbnm 1q2w3e4r 1q2w3e4r5t 1q2w3e 1qaz2wsx qazwsx qazwsxedc zaq12wsx abc123 abcd1234 a1b2c3 a1b2c3d4 aa123456
123qwe 123abc iloveyou iloveu love lovely loveme princess sunshine monkey dragon master shadow superman batman
football baseball soccer hockey basketball michael jennifer jordan hunter ranger buster thomas charlie daniel
andrew joshua matthew robert ashley jessica michelle nicole amanda letmein welcome welcome1 admin administrator
root toor login guest user test tester changeme default secret trustno1 whatever freedom starwars pokemon
computer internet samsung google apple iphone facebook twitter minecraft fortnite killer hello hello123 hallo
flower cookie chocolate summer winter spring autumn september december january october november august
friends family forever mustang harley ferrari porsche mercedes corvette yankees liverpool chelsea arsenal
barcelona realmadrid juventus galatasaray fenerbahce besiktas trabzonspor qwe123 asd123 zxc123 666666 777777
888888 999999 111111 000000 121212 123123 654321 112233 123321 159753 147258 147258369 987654321 123456789
1234567890 0987654321 12345678910 11111111 00000000 password123 password12 admin123 root123 test123 user123
qwerty12345 iloveyou123 babygirl lovelove angel angels jesus christ blessed heaven lucky mylove nothing
anything someone secret123 unknown private mypassword yourpassword passwort motdepasse contrasena parola
sifre sifre123 parol parolparol privet privet123 qwertyu ytrewq zxcvbn mnbvcxz kazakhstan russia moscow
ukraine kyrgyzstan armenia georgia serbia turkey istanbul ankara almaty astana bishkek yerevan tbilisi
belgrade podgorica baku tashkent dushanbe minsk belarus freedom1 democracy liberty justice solidarity
trustno letmein1 access access14 master123 shadow123 dragon123 monkey123
football1 baseball1 superman1 batman123 princess1 sunshine1 starwars1 whatever1 qwerty1 abc12345 654321a
`;

export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(LIST.split(/\s+/).filter(Boolean));
