// Name pairs for the cross-script duplicate check: test/duplicates.test.ts
// asserts each, bench/duplicates.bench.ts measures recall on them.
// Invented names, as relatives, passports and other NGOs write them.
export const SAME: [string, string][] = [
  // Russian Cyrillic ↔ ICAO, BGN, German, Polish, Turkish spellings
  ['Иванов Пётр', 'Ivanov Petr'],
  ['Иванов Пётр', 'IVANOV PYOTR'],
  ['Иванов Пётр', 'İvanov Piotr'],
  ['Иванов Пётр', 'Iwanow Piotr'],
  ['Фёдоров Евгений', 'Fyodorov Yevgeny'],
  ['Фёдоров Евгений', 'Fedorov Evgenii'],
  ['Щукин Юрий', 'Shchukin Yuri'],
  ['Щукин Юрий', 'Szczukin Jurij'],
  ['Хасанов Тимур', 'Khasanov Timur'],
  ['Хасанов Тимур', 'Hasanov Timur'],
  ['Ксения Жукова', 'Kseniia Zhukova'],
  ['Ксения Жукова', 'Xenia Zhukova'],
  ['Соловьёв Андрей', 'Solovyov Andrey'],
  ['Соловьёв Андрей', 'Solovev Andrei'],
  ['Зайцева Наталья', 'Zaitseva Natalia'],
  ['Зайцева Наталья', 'Zaytseva Natalya'],
  ['Шишкин Алексей', 'Schischkin Alexei'],
  ['Чернов Илья', 'Tschernow Ilja'],
  ['Чернов Илья', 'Chernov Ilya'],
  ['Белоусов Дмитрий', 'Belousov Dmitriy'],
  ['Белоусов Дмитрий', 'Belousow Dmitrij'],
  // Word order, case and accents
  ['Орлова Мария Сергеевна', 'maria orlova sergeevna'],
  // Belarusian and Ukrainian letters
  ['Шчаслівы Ўладзімір', 'Shchaslivy Uladzimir'],
  ['Коваленко Олексій', 'Kovalenko Oleksii'],
  // Kazakh
  ['Нұрланқызы Әлия', 'Nurlankyzy Aliya'],
  ['Сәрсенбаев Қайрат', 'Sarsenbaev Kairat'],
  ['Өтегенов Ғани', 'Otegenov Gani'],
  // Kyrgyz
  ['Үсөнов Бакыт', 'Usonov Bakyt'],
  ['Абдрахманова Айгүл', 'Abdrakhmanova Aigul'],
  // Armenian
  ['Պետրոսյան Արամ', 'Petrosyan Aram'],
  ['Գրիգորյան Նունե', 'Grigoryan Nune'],
  ['Հովհաննիսյան Տիգրան', 'Hovhannisyan Tigran'],
  ['Ղազարյան Աննա', 'Ghazaryan Anna'],
  // Georgian
  ['ბერიძე გიორგი', 'Beridze Giorgi'],
  ['ჯაფარიძე ნინო', 'Japaridze Nino'],
  ['ქავთარაძე ლევან', 'Kavtaradze Levan'],
  ['წერეთელი თამარ', 'Tsereteli Tamar'],
  // Serbian Cyrillic ↔ Serbian Latin
  ['Петровић Марко', 'Petrović Marko'],
  ['Ђорђевић Јелена', 'Đorđević Jelena'],
  ['Његош Милан', 'Njegoš Milan'],
  // Turkish
  ['Şahin Çelik', 'Sahin Celik'],
  ['Yılmaz Ayşe', 'YILMAZ AYSE'],
  ['Öztürk Gülşen', 'Ozturk Gulsen'],
];

export const DIFFERENT: [string, string][] = [
  ['Иванов Пётр', 'Иванова Петра'],
  ['Petrov Ivan', 'Petrova Ivana'],
  ['Петросян Арам', 'Петросян Армен'],
  ['Beridze Giorgi', 'Beridze Nino'],
  ['Şahin Çelik', 'Şahin Çakır'],
];
